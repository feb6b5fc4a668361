/**
 * The pluggable storage of the token cache. `MemoryTokenStore` is the default; `RedisTokenStore`
 * (nestjs-token-cache/redis) shares tokens between app instances. A store keeps `StoredToken`s by key and
 * knows nothing of expiry rules: the cache decides what is usable.
 */

/** What a store keeps for one key. Times are epoch milliseconds. */
export interface StoredToken {
  accessToken: string;
  tokenType: string;
  /** When the token expires (raw, before `expirySkewMs`). */
  expiresAt: number;
  /** When the token was received: the lifetime runs from here to `expiresAt`. */
  receivedAt: number;
  /** When the IdP asked for the refresh (`receivedAt + refresh_in`), if it did. */
  refreshAt?: number;
  /**
   * The fetch time a refresh of this token must allow for (ms): the p95 of its source's recent fetch durations
   * when it arrived. A slow IdP gets its refresh started earlier.
   */
  fetchMs?: number;
  /** When the token was last fetched, when later than `receivedAt` (a source handed back the token it had already given). */
  fetchedAt?: number;
  /** Scopes granted (from the response's `scope`), else those requested. */
  scopes?: string[];
  /** The request that the key stands for: shown by `entries()`, never secret. */
  source: string;
  subject?: string;
  requestedScopes?: string[];
  audience?: string;
  resource?: string;
}

export type TokenStoreEvent =
  | { type: 'evicted'; key: string; token: StoredToken }
  /** Another instance removed or replaced the key (shared stores only). */
  | { type: 'remote-invalidated'; key: string };

/**
 * Cross-instance single flight, offered by shared stores. `fetch` runs in at most one instance at a time
 * per key; the others wait for the token it stores. `accept` says whether a token already in the store
 * may be used instead of fetching (the cache passes "usable and newer than the one I have").
 */
export interface SharedFetchOptions {
  accept: (token: StoredToken) => boolean;
  /** How long the fetch may take; a lock is held no longer than this (plus a margin). */
  timeoutMs: number;
  /**
   * Asked once the fetch has its token: false when the cache was cleared while it ran. The token then goes to
   * the waiting callers but is stored nowhere (not in memory, not in the shared backend).
   */
  shouldStore?: () => boolean;
  signal?: AbortSignal;
}

/**
 * The shared value of a rotating secret (a refresh token), read and replaced under a fleet-wide lock: see
 * `TokenStore.exclusive`.
 */
export interface SharedSecretSlot {
  /**
   * The value stored last by any instance; undefined when there is none. Rejects with a `TokenFetchError`
   * when the backend can't be read: a caller must not act as if there were no value.
   */
  read(): Promise<string | undefined>;
  /** Stores the new value for every instance (encrypted with the store's `encryptionKey` when it has one). False when the backend did not take it. */
  write(value: string): Promise<boolean>;
  /**
   * How long (ms) a value another instance left unsettled (marked as being spent, or put back after the backend
   * lost it) is waited for before that instance is taken for gone. The Redis store: 3 × `lockTtlMs`.
   */
  readonly settleMs: number;
}

export interface ExclusiveOptions {
  /** How long `run` may take; the lock is renewed meanwhile and waiters give up after this plus the lock TTL. */
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface TokenStore {
  /** Shown in health details (`store.type`), e.g. `'memory'`, `'redis'`. */
  readonly type: string;
  /** False while a remote backend can't be reached (the store then works from memory). */
  readonly reachable: boolean;
  /** Entries held in this process. */
  readonly size: number;

  /** The in-process entry, marking it recently used. Never does I/O: the cache's hot path. */
  getSync(key: string): StoredToken | undefined;
  /** The in-process entry without marking it used. Never does I/O. */
  peek(key: string): StoredToken | undefined;
  /** The entry, reading through to a remote backend on an in-process miss. */
  get(key: string): Promise<StoredToken | undefined>;
  set(key: string, token: StoredToken): Promise<void>;
  /** Removes the key; with `accessToken`, only if that is the token stored. True when something was removed. */
  delete(key: string, accessToken?: string): Promise<boolean>;
  /** In-process entries, least recently used last; does not mark them used. */
  entries(): Iterable<[string, StoredToken]>;
  /** Store events (LRU evictions, remote invalidations). Returns an unsubscribe function. */
  subscribe(listener: (event: TokenStoreEvent) => void): () => void;
  /** Optional cross-instance single flight (see `SharedFetchOptions`). */
  fetchShared?(key: string, fetch: () => Promise<StoredToken>, options: SharedFetchOptions): Promise<StoredToken>;
  /**
   * Optional, offered by shared stores: runs `run` while no other instance runs one for `name` (a fleet-wide
   * lock, renewed while `run` runs), with the slot holding the shared value of `name`. Sources use it so that
   * refreshes spending one refresh token never overlap across instances. `run` never runs without the lock:
   * when the backend is unreachable (or stalls), or another holder keeps it past `timeoutMs` + the lock's TTL,
   * it rejects with a `TokenFetchError` (`retryable: true`) and `run` is not called.
   */
  exclusive?<T>(name: string, run: (slot: SharedSecretSlot) => Promise<T>, options: ExclusiveOptions): Promise<T>;
  /** Releases timers and connections the store opened itself. */
  close?(): Promise<void>;
}

/** Injection token for a `TokenStore`, in the style of `ThrottlerStorage`. */
export const TokenStore = Symbol('TokenStore');
