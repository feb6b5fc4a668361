/**
 * The package's TypeScript augmentation of axios: the per-request options the token interceptor reads.
 * Imported (for its types) by core/index.ts, so users of either entry point see it.
 */

/** Picks the cache key for one request; each field set here replaces the one given to `attach()`. */
export interface TokenCacheRequestOptions {
  subject?: string;
  scopes?: string[];
  audience?: string;
  /** RFC 8707 resource indicator. */
  resource?: string;
  /** RFC 8693 subject token for a `tokenExchange` source (on-behalf-of); hashed into the key, never stored. */
  subjectToken?: string;
}

declare module 'axios' {
  interface AxiosRequestConfig {
    /** `true`: the token interceptor leaves this request alone (no header, no 401 retry). Default false. */
    skipTokenCache?: boolean;
    /** The token key for this request only (`subject`, `scopes`, `audience`), over the `attach()` options. */
    tokenCache?: TokenCacheRequestOptions;
  }
}
