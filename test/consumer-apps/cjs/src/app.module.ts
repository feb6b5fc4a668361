import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TerminusModule } from '@nestjs/terminus';
import { TokenCacheModule, clientCredentials } from 'nestjs-token-cache';
import { TokenCacheHealthIndicator } from 'nestjs-token-cache/health';
import { AppController } from './app.controller';
import { AppService } from './app.service';

@Module({
  imports: [
    ScheduleModule.forRoot(),
    TerminusModule,
    // Options from the environment when the app starts (a test overrides TOKEN_CACHE_MODULE_OPTIONS instead).
    TokenCacheModule.forRootAsync({
      useFactory: () => ({
        sources: {
          reports: clientCredentials({
            tokenUrl: process.env.IDP_TOKEN_URL ?? '',
            clientId: process.env.IDP_CLIENT_ID ?? '',
            clientSecret: process.env.IDP_CLIENT_SECRET ?? '',
            scope: 'reports:read',
          }),
        },
      }),
    }),
    TokenCacheModule.forFeature({ name: 'reports-api', source: 'reports', timeout: 5_000 }),
  ],
  controllers: [AppController],
  providers: [AppService, TokenCacheHealthIndicator],
})
export class AppModule {}
