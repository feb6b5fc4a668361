// nestjs-token-cache/core: the framework-free token cache. Imports nothing from @nestjs/*.
export { TokenCache } from './token-cache.js';
export { DEFAULTS, type TokenCacheOptions } from './token-cache.options.js';
export type {
  CachedToken,
  Clock,
  TokenCacheEntry,
  TokenCacheEvent,
  TokenCacheEventType,
  TokenCacheLogger,
  TokenCacheStats,
  TokenEntryState,
  TokenParams,
  TokenRequest,
  TokenResponse,
  TokenSourceState,
  TokenSourceStatus,
} from './token-cache.types.js';
export {
  TokenCacheConfigError,
  TokenCacheError,
  TokenFetchError,
  TokenResponseError,
  UnknownTokenSourceError,
  type TokenFetchErrorDetails,
} from './token-cache.errors.js';
export { TokenStore, type SharedFetchOptions, type StoredToken, type TokenStoreEvent } from './token-store.interface.js';
export { MemoryTokenStore, type MemoryTokenStoreOptions } from './memory-token-store.js';
export type { TokenFetchContext, TokenSource } from './sources/token-source.interface.js';
export { tokenFunction, type TokenFunction, type TokenFunctionOptions } from './sources/token-function.source.js';
export { cacheKey, normalizeScopes } from './cache-key.js';
export { backoffDelay } from './backoff.js';
export { jwtExpiresAt, parseOAuthTokenBody, validateTokenResponse } from './token-response.js';
