/** Public data shapes of the token cache. */

/** What a caller asks for; the cache key is built from all of it. */
export interface TokenRequest {
  /** The name of the source in `sources`. */
  source: string;
  /** Who the token is for (a user id, a tenant); opaque to the cache. */
  subject?: string;
  scopes?: string[];
  audience?: string;
  /** RFC 8707 resource indicator. */
  resource?: string;
  /**
   * RFC 8693 `subject_token` for on-behalf-of sources (`tokenExchange`): the caller's own token. The cache
   * key holds its SHA-256, never the token; it is never stored, logged or shown.
   */
  subjectToken?: string;
}

/** The parameters of a request beyond its source. */
export type TokenParams = Omit<TokenRequest, 'source'>;

/** What a source returns. `expiresIn` is in seconds, `expiresAt` a Date or epoch milliseconds. */
export interface TokenResponse {
  accessToken: string;
  tokenType?: string;
  /** Seconds from now. A numeric string such as `"3600"` is accepted. */
  expiresIn?: number;
  /** A Date or epoch milliseconds (a number below 10^11 is read as epoch seconds). */
  expiresAt?: number | Date;
  refreshToken?: string;
  /** Space-separated scopes granted. */
  scope?: string;
  /** Seconds from now after which the IdP asks for a refresh (its `refresh_in`, as Azure managed identity sends). */
  refreshIn?: number;
}

/** A token as the cache hands it out. */
export interface CachedToken {
  accessToken: string;
  tokenType: string;
  expiresAt: Date;
  scopes?: string[];
}

export type TokenEntryState = 'fresh' | 'refresh-due' | 'expired';

/** A cache entry as `entries()` shows it: never the token itself. */
export interface TokenCacheEntry {
  key: string;
  source: string;
  subject?: string;
  scopes?: string[];
  audience?: string;
  resource?: string;
  expiresAt: Date;
  expiresInMs: number;
  state: TokenEntryState;
}

/** The monotonic counts behind `stats()`, kept for the whole cache and per source (for metrics). */
export interface TokenCacheCounters {
  hits: number;
  misses: number;
  fetches: number;
  fetchFailures: number;
  refreshesAhead: number;
  invalidations: number;
  evictions: number;
  expiredRemoved: number;
}

export interface TokenCacheStats extends TokenCacheCounters {
  size: number;
  hitRate: number;
  inFlight: number;
}

export type TokenCacheEventType =
  | 'fetched'
  | 'refreshed'
  | 'fetch_failed'
  | 'invalidated'
  | 'evicted'
  | 'expired'
  | 'cleared';

export interface TokenCacheEvent {
  type: TokenCacheEventType;
  /** The source name; `'*'` for a `cleared` event of `clear()` without a source. */
  source: string;
  /** The cache key; `'*'` for `cleared`. */
  key: string;
  at: Date;
  durationMs?: number;
  error?: { name: string; message: string };
  /** For `cleared`: how many entries were removed. */
  removed?: number;
}

/** The state of one source, as health checks and dashboards see it. */
/**
 * A source's state in health details: `valid` / `refresh-due` (a usable token), `waiting` (no usable token,
 * callers wait on a fetch in flight), `failing` (no usable token, the last fetch failed), `expired` (only an
 * expired entry left), `idle` (used, no entry now), `unused` (never asked). See `sourceStatusOf`.
 */
/**
 * A source's state in health details: `valid`, `refresh-due` (a usable token); `serving-stale` (its fetches
 * fail, and callers still get a token past its skew, up to its real expiry less a transit margin: degraded,
 * not down); `waiting` (callers wait on a fetch); `failing` (no token left to serve, fetches fail); `expired`,
 * `idle`, `unused`.
 */
export type TokenSourceState = 'valid' | 'refresh-due' | 'serving-stale' | 'waiting' | 'expired' | 'failing' | 'idle' | 'unused';

export interface TokenSourceStatus {
  state: TokenSourceState;
  /** Time left on the best token (ms) until its raw expiry: `valid`, `refresh-due`, `serving-stale`, `expired` (0). */
  expiresInMs?: number;
  /** `waiting` only: how long callers have waited on the fetch in flight, ms. */
  waitingMs?: number;
  consecutiveFailures: number;
  lastError?: { name: string; message: string; at: Date };
}

/** The time source of the cache. Tests pass a fake one that also owns the timers. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Schedules a timer (fetch timeouts); default the global `setTimeout`, unref'd. */
  setTimeout?(fn: () => void, ms: number): unknown;
  clearTimeout?(handle: unknown): void;
}

/** Where the framework-free core logs. The Nest layer passes Nest's `Logger`. */
export interface TokenCacheLogger {
  debug?(message: string): void;
  log?(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}
