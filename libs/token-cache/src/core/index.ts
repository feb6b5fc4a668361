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
  TokenCacheCounters,
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
export {
  TokenStore,
  type ExclusiveOptions,
  type SharedFetchOptions,
  type SharedSecretSlot,
  type StoredToken,
  type TokenStoreEvent,
} from './token-store.interface.js';
export { MemoryTokenStore, type MemoryTokenStoreOptions } from './memory-token-store.js';
export type { TokenFetchContext, TokenSource } from './sources/token-source.interface.js';
export { tokenFunction, type TokenFunction, type TokenFunctionOptions } from './sources/token-function.source.js';
export { clientCredentials, type ClientCredentialsOptions } from './sources/client-credentials.source.js';
export { refreshTokenGrant, type RefreshTokenGrantOptions } from './sources/refresh-token.source.js';
export type { RefreshTokenOption, RefreshTokenRotatedCallback } from './sources/refresh-token-rotation.js';
export { fileToken, type FileTokenOptions } from './sources/file-token.source.js';
export { tokenExchange, type TokenExchangeOptions } from './sources/token-exchange.source.js';
export { jwtBearer, type JwtBearerOptions } from './sources/jwt-bearer.source.js';
export type { AssertionInput } from './sources/assertion-input.js';
export {
  parseRetryAfter,
  type OAuthAuthMethod,
  type OAuthClientOptions,
  type OAuthFetch,
  type OAuthTlsOptions,
  type PrivateKeyMaterial,
  type PrivateKeyWithId,
} from './sources/oauth-grant.js';
export type { SubjectTokenOption } from './subject-token.js';
export { cacheKey, normalizeScopes } from './cache-key.js';
export { DPoPKey, type DPoPKeyMaterial, type DPoPKeyOptions, type DPoPOption, type DPoPProofInput } from './dpop/dpop-key.js';
export { backoffDelay } from './backoff.js';
export { TOKEN_CACHE_METER_NAME, TOKEN_CACHE_METRICS, type TokenFetchOutcome } from './token-cache.metrics.js';
export {
  assertHeaderSafeToken,
  jwtExpiresAt,
  jwtTimes,
  parseOAuthTokenBody,
  parseTokenEndpointBody,
  resolveTokenType,
  validateTokenResponse,
  type TokenResponseRules,
  type ValidTokenResponse,
} from './token-response.js';
export {
  attachTokenCache,
  type AttachTokenCacheOptions,
  type TokenCacheAttachTarget,
  type TokenCacheLike,
} from './token-cache.interceptor.js';
export { tokenFetch, type TokenFetch, type TokenFetchInit, type TokenFetchOptions } from './token-fetch.js';

// Also brings the axios augmentation (skipTokenCache, tokenCache) into both entry points' types.
export type { TokenCacheRequestOptions } from './token-cache.axios.js';
// The same augmentation for axios' CommonJS typings, which CommonJS apps see (types only: erased from the .js).
export type {} from './token-cache.axios-require.cjs';
export { staticToken, type StaticTokenOptions } from './sources/static-token.source.js';
