/**
 * The names `TokenCacheModule.forRoot` / `forRootAsync` take, checked when the module is defined (the app's
 * import list), so a typo fails at start naming it, before any provider is made.
 */
import { TOKEN_CACHE_OPTION_NAMES } from '../core/token-cache.options.js';
import { assertKnownOptions, assertOptionsObject, optionNames } from '../core/validate.js';
import type { TokenCacheAdminOptions, TokenCacheModuleExtras } from './token-cache-module-options.interface.js';

const EXTRA_NAMES = optionNames<TokenCacheModuleExtras>()('isGlobal', 'admin');
const ADMIN_NAMES = optionNames<TokenCacheAdminOptions>()('enabled', 'path', 'guards');
/** What Nest's ConfigurableModuleBuilder takes in `forRootAsync` (ConfigurableModuleAsyncOptions). */
const ASYNC_NAMES = ['imports', 'inject', 'useFactory', 'useClass', 'useExisting', 'provideInjectionTokensFrom'];

/** `forRoot(options)`: the cache options and the module's own `isGlobal` / `admin`. Values are checked by `new TokenCache()`. */
export function assertForRootNames(options: unknown): void {
  if (options === null || typeof options !== 'object') return; // TokenCache names what is wrong
  assertKnownOptions(options, [...TOKEN_CACHE_OPTION_NAMES, ...EXTRA_NAMES]);
  assertOptionsObject('admin', (options as { admin?: unknown }).admin, ADMIN_NAMES, true);
}

/** `forRootAsync(options)`: Nest's async fields and `isGlobal` / `admin` (the cache options come from the factory). */
export function assertForRootAsyncNames(options: unknown): void {
  if (options === null || typeof options !== 'object') return;
  assertKnownOptions(options, [...ASYNC_NAMES, ...EXTRA_NAMES]);
  assertOptionsObject('admin', (options as { admin?: unknown }).admin, ADMIN_NAMES, true);
}
