import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigurableTokenCacheModule } from './token-cache.module-definition.js';
import { createTokenClientModule } from './token-client.module.js';
import type { TokenClientOptions } from './token-client-options.interface.js';

/**
 * `TokenCacheModule.forRoot({ sources })` / `forRootAsync({ useFactory, inject })`: one global
 * `TokenCacheService` for the whole app.
 */
@Module({})
export class TokenCacheModule extends ConfigurableTokenCacheModule {
  /**
   * A named AxiosInstance (`axios.create()` of the axios options given) that carries a cached token on every
   * request and retries once after a 401. Inject it with `@InjectTokenClient(name)`.
   */
  static forFeature(options: TokenClientOptions): DynamicModule {
    return createTokenClientModule(options);
  }
}
