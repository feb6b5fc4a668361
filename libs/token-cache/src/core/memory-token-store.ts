/** The default store: an in-process LRU (lru-cache) bounded by `maxEntries`. */
import { LRUCache } from 'lru-cache';
import type { StoredToken, TokenStore, TokenStoreEvent } from './token-store.interface.js';
import { TokenCacheConfigError } from './token-cache.errors.js';
import { messages } from './token-cache.messages.js';
import { DEFAULTS, MAX_ENTRIES_LIMIT } from './token-cache.options.js';
import { assertOptionsObject, assertPositiveInt, optionNames } from './validate.js';

export interface MemoryTokenStoreOptions {
  /** Most entries kept; the least recently used is evicted past it. Default 10_000. */
  maxEntries?: number;
}

export class MemoryTokenStore implements TokenStore {
  readonly type: string = 'memory';
  readonly reachable: boolean = true;
  private readonly lru: LRUCache<string, StoredToken>;
  /**
   * The same entries in a plain Map, for `peek`: a peek changes no LRU order, so it needs none of lru-cache's
   * bookkeeping (options, diagnostics, recency), and the warm `peek` is a Map lookup. Kept in step by `set`
   * and by lru-cache's dispose, which runs for every entry it drops (evicted, deleted, replaced, cleared).
   */
  private readonly byKey = new Map<string, StoredToken>();
  private readonly listeners = new Set<(event: TokenStoreEvent) => void>();

  constructor(options: MemoryTokenStoreOptions = {}) {
    assertOptionsObject('MemoryTokenStore', options, optionNames<MemoryTokenStoreOptions>()('maxEntries'));
    assertPositiveInt('maxEntries', options.maxEntries);
    if (options.maxEntries !== undefined && options.maxEntries > MAX_ENTRIES_LIMIT) {
      throw new TokenCacheConfigError(
        'maxEntries',
        messages.config('maxEntries', `expected at most ${MAX_ENTRIES_LIMIT}, got ${options.maxEntries}`),
      );
    }
    this.lru = new LRUCache<string, StoredToken>({
      max: options.maxEntries ?? DEFAULTS.maxEntries,
      // Expiry is the cache's business (expired entries stay visible until cleanup), so no ttl here.
      dispose: (token, key, reason) => {
        if (this.byKey.get(key) === token) this.byKey.delete(key);
        if (reason === 'evict') this.emit({ type: 'evicted', key, token });
      },
    });
  }

  get size(): number {
    return this.lru.size;
  }

  getSync(key: string): StoredToken | undefined {
    return this.lru.get(key);
  }

  peek(key: string): StoredToken | undefined {
    return this.byKey.get(key);
  }

  get(key: string): Promise<StoredToken | undefined> {
    return Promise.resolve(this.lru.get(key));
  }

  set(key: string, token: StoredToken): Promise<void> {
    this.lru.set(key, token);
    if (this.lru.has(key)) this.byKey.set(key, token);
    return Promise.resolve();
  }

  delete(key: string, accessToken?: string): Promise<boolean> {
    return Promise.resolve(this.deleteSync(key, accessToken));
  }

  /** Synchronous `delete`, for stores that keep a memory tier of their own. */
  deleteSync(key: string, accessToken?: string): boolean {
    if (accessToken !== undefined) {
      const current = this.byKey.get(key);
      if (current === undefined || current.accessToken !== accessToken) return false;
    }
    return this.lru.delete(key);
  }

  *entries(): Iterable<[string, StoredToken]> {
    // Copy first so callers may delete while iterating.
    yield* [...this.lru.entries()];
  }

  subscribe(listener: (event: TokenStoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  protected emit(event: TokenStoreEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  async close(): Promise<void> {
    this.lru.clear();
  }
}
