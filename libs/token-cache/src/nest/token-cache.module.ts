import { Module } from '@nestjs/common';
import { ConfigurableTokenCacheModule } from './token-cache.module-definition.js';

/**
 * `TokenCacheModule.forRoot({ sources })` / `forRootAsync({ useFactory, inject })`: one global
 * `TokenCacheService` for the whole app.
 */
@Module({})
export class TokenCacheModule extends ConfigurableTokenCacheModule {}
