import type { DPoPKey } from '../dpop/dpop-key.js';
import type { Clock, TokenCacheLogger, TokenRequest, TokenResponse } from '../token-cache.types.js';
import type { TokenStore } from '../token-store.interface.js';

/** What a source's fetch is given besides the request. */
export interface TokenFetchContext {
  /** Fires after the fetch timeout (the source's `timeoutMs`, else the cache's `fetchTimeoutMs`). */
  signal: AbortSignal;
  /** The cache's clock, for sources that compute times. */
  clock: Clock;
  /**
   * The cache's store when it coordinates instances (`RedisTokenStore`): a source whose fetches spend a
   * one-time secret (a rotating refresh token) runs them under `exclusive`, and shares the new secret.
   */
  shared?: Required<Pick<TokenStore, 'exclusive'>>;
  /** The cache's logger (best effort, never throws), for warnings a source raises besides its errors. */
  logger?: TokenCacheLogger;
}

/**
 * How a token is obtained. Built-in sources: `clientCredentials`, `refreshTokenGrant`, `tokenFunction`,
 * `fileToken`; any object of this shape works too.
 */
export interface TokenSource {
  /** A short name of the kind of source (`'client_credentials'`, `'function'`, `'file'`…), for logs and health. */
  readonly kind: string;
  /** Fetches a token. Throw `TokenFetchError` / `TokenResponseError`; other errors are wrapped. */
  fetchToken(request: TokenRequest, context: TokenFetchContext): Promise<TokenResponse>;
  /** Lifetime for tokens with no expiry information, in ms. Overrides the cache's `defaultTtlMs`. */
  readonly defaultTtlMs?: number;
  /** Fetch timeout in ms. Overrides the cache's `fetchTimeoutMs`. */
  readonly timeoutMs?: number;
  /**
   * The DPoP key (RFC 9449) the source's tokens are bound to (the `dpop` option of the OAuth sources). Its
   * thumbprint is part of the cache key; the HTTP clients sign a proof with it for each `token_type: DPoP` request.
   */
  readonly dpopKey?: DPoPKey;
  /**
   * For sources whose token changes outside the cache (a file rewritten by a sidecar): calls `onChange`
   * whenever it does, so the cache replaces its entries at once. Returns a function that stops watching.
   */
  watch?(onChange: () => void): () => void;
  /** Values this source knows to be secret (client secret, refresh token): redacted from every message. */
  secrets?(): string[];
  /** Releases timers, watchers and connections. */
  close?(): void | Promise<void>;
}
