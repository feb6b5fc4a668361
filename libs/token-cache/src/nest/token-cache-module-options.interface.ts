import type { CanActivate, Type } from '@nestjs/common';
import type { TokenCacheOptions } from '../core/index.js';

/** Options of `TokenCacheModule.forRoot` / the result of a `forRootAsync` factory. */
export type TokenCacheModuleOptions = TokenCacheOptions;

/** The opt-in admin endpoints. Routes are fixed when the module is defined, so this is not part of an async factory. */
export interface TokenCacheAdminOptions {
  /** Default false. */
  enabled?: boolean;
  /** Route prefix. Default `'token-cache'`. */
  path?: string;
  /** Guards in front of the admin routes. Enabled without guards logs a warning at startup. */
  guards?: Type<CanActivate>[];
}

/** Fields of `forRoot` / `forRootAsync` that shape the module itself rather than the cache. */
export interface TokenCacheModuleExtras {
  /** Register the module globally. Default true. */
  isGlobal?: boolean;
  admin?: TokenCacheAdminOptions;
}

/** What a `useClass` / `useExisting` class of `forRootAsync` implements. */
export interface TokenCacheOptionsFactory {
  createTokenCacheOptions(): TokenCacheModuleOptions | Promise<TokenCacheModuleOptions>;
}
