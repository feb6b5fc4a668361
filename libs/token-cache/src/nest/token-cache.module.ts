import { Module, type DynamicModule } from '@nestjs/common';
import { assertForRootAsyncNames, assertForRootNames } from './token-cache-module-options.check.js';
import { ConfigurableTokenCacheModule } from './token-cache.module-definition.js';
import { createTokenClientModule } from './token-client.module.js';
import type { TokenClientOptions } from './token-client-options.interface.js';

/**
 * `TokenCacheModule.forRoot({ sources })` / `forRootAsync({ useFactory, inject })`: one global
 * `TokenCacheService` for the whole app.
 */
@Module({})
export class TokenCacheModule extends ConfigurableTokenCacheModule {
  /** Throws TokenCacheConfigError at once for an unknown option name (`fetchTimeoutMS`, `admin.enable`). */
  static override forRoot(options: Parameters<typeof ConfigurableTokenCacheModule.forRoot>[0]): DynamicModule {
    assertForRootNames(options);
    return super.forRoot(options);
  }

  /** Throws TokenCacheConfigError at once for an unknown field (`useFactoy`, `admin.gaurds`). */
  static override forRootAsync(options: Parameters<typeof ConfigurableTokenCacheModule.forRootAsync>[0]): DynamicModule {
    assertForRootAsyncNames(options);
    return super.forRootAsync(options);
  }

  /**
   * A named AxiosInstance (`axios.create()` of the axios options given) that carries a cached token on every
   * request and retries once after a 401. Inject it with `@InjectTokenClient(name)`.
   */
  static forFeature(options: TokenClientOptions): DynamicModule {
    return createTokenClientModule(options);
  }
}
