import { Module } from '@nestjs/common';
import { ConfigurableTokenCacheModule } from './token-cache.module-definition.js';
import { TokenCacheService } from './token-cache.service.js';

/**
 * `TokenCacheModule.forRoot({ sources })` / `forRootAsync({ useFactory, inject })`: one global
 * `TokenCacheService` for the whole app.
 */
@Module({
  providers: [TokenCacheService],
  exports: [TokenCacheService],
})
export class TokenCacheModule extends ConfigurableTokenCacheModule {}
