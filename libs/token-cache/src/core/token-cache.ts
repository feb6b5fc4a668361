/**
 * The framework-free token cache: one token per key, one fetch per key however many callers, refresh
 * ahead of expiry in the background, backoff after failures, and an LRU-bounded store.
 */
import { inspect } from 'node:util';
import { Observable, Subject } from 'rxjs';
import { systemClock } from './clock.js';
import type { DPoPKey } from './dpop/dpop-key.js';
import { InFlight } from './in-flight.js';
import { KeyFailures } from './key-failures.js';
import { loadDecision } from './load-decision.js';
import { MemoryTokenStore } from './memory-token-store.js';
import { RefreshJitter } from './refresh-jitter.js';
import { SourceRegistry } from './source-registry.js';
import { dpopKeyOf } from './source-run.js';
import { SourceStates } from './source-states.js';
import { sourceStatusOf } from './source-status.js';
import { deleteEntries, latestEntryOf } from './store-walk.js';
import { attachTokenCache, type AttachTokenCacheOptions, type TokenCacheAttachTarget } from './token-cache.interceptor.js';
import { describeError, TokenCacheConfigError } from './token-cache.errors.js';
import { messages } from './token-cache.messages.js';
import { TokenCacheMetrics, type TokenCacheCounters } from './token-cache.metrics.js';
import { resolveTokenCacheOptions, type ResolvedTokenCacheOptions, type TokenCacheOptions } from './token-cache.options.js';
import type { CachedToken, Clock, TokenCacheEntry, TokenCacheEvent, TokenCacheEventType, TokenCacheStats } from './token-cache.types.js';
import type { TokenEntryState, TokenParams, TokenRequest, TokenSourceStatus } from './token-cache.types.js';
import { TokenFetcher } from './token-fetcher.js';
import { assertTokenParams } from './token-params.js';
import { renewRequest, requestFor } from './token-request.js';
import type { StoredToken, TokenStore, TokenStoreEvent } from './token-store.interface.js';
import { memoTiming, entryStateOf } from './timing-memo.js';
import { tokenPhase, type RefreshWindow, type TimingOptions, type TokenTiming } from './token-timing.js';
import { entryOf, viewOf } from './token-view.js';
import { describeValue } from './validate.js';

export class TokenCache {
  protected readonly options: ResolvedTokenCacheOptions;
  readonly store: TokenStore;
  private readonly clock: Clock;
  private readonly sources: SourceRegistry;
  /** The options the timing rules read (token-timing.ts), one object so a token's timing is computed once. */
  private readonly timing: TimingOptions;
  private readonly inFlight = new InFlight();
  /** Failed fetches per key: backoff, and the error callers get at once meanwhile. */
  private readonly failures: KeyFailures;
  private readonly sourceStates = new SourceStates();
  private readonly events = new Subject<TokenCacheEvent>();
  private readonly unsubscribers: (() => void)[] = [];
  private closed = false;
  private readonly fetcher: TokenFetcher;
  private readonly metrics: TokenCacheMetrics;
  /** Refresh-ahead jitter, only with a store shared by instances (a lone instance refreshes at the window's start). */
  private readonly jitter?: RefreshJitter;
  /** What peek() showed last (see viewIfUsable). */
  #peeked: StoredToken | undefined;
  #peekedView: CachedToken | undefined;
  #peekedUntil = 0;

  /** Every cache event: fetched, refreshed, fetch_failed, invalidated, evicted, expired, cleared. Never a token. */
  readonly events$: Observable<TokenCacheEvent> = this.events.asObservable();

  constructor(options: TokenCacheOptions) {
    this.clock = options?.clock ?? systemClock;
    this.options = resolveTokenCacheOptions(options, this.clock);
    this.store = this.options.store ?? new MemoryTokenStore({ maxEntries: this.options.maxEntries });
    this.sources = new SourceRegistry(this.options.sources, this.options.maxEntries);
    if (this.store.fetchShared !== undefined) this.jitter = new RefreshJitter(this.options.random);
    this.timing = { expirySkewMs: this.options.expirySkewMs, refreshBeforeExpiryMs: this.options.refreshBeforeExpiryMs };
    this.failures = new KeyFailures(this.options.maxEntries, this.options.random);
    this.metrics = new TokenCacheMetrics(this.options.meterProvider, {
      counters: new Map([...this.sources.all()].map(({ name, counters }) => [name, counters])),
      size: () => this.store.size,
      inFlight: () => this.inFlight.size,
    });
    this.fetcher = new TokenFetcher({
      options: this.options,
      store: this.store,
      clock: this.clock,
      sources: this.sources,
      failures: this.failures,
      inFlight: this.inFlight,
      sourceStates: this.sourceStates,
      metrics: this.metrics,
      timingOf: (token) => this.timingOf(token),
      emit: (type, source, key, extra) => this.emit(type, source, key, extra),
    });
    this.unsubscribers.push(() => this.metrics.close());
    this.unsubscribers.push(this.store.subscribe((event) => this.onStoreEvent(event)));
    for (const { name, source } of this.sources.all()) {
      if (source.watch) this.unsubscribers.push(source.watch(() => this.fetcher.sourceChanged(name)));
    }
  }

  // ---------------------------------------------------------------- reading

  /** The access token for `(source, subject, scopes, audience, resource)`, fetched only when none is usable. */
  getToken(source: string, params?: TokenParams): Promise<string> {
    // Rejects, never throws: bad parameters, a store that throws, anything.
    try {
      const own = this.sources.find(source);
      if (own === undefined) return Promise.reject(this.sources.unknown(source));
      // A key is built (and its parameters checked) only on a memo miss.
      const key = params === undefined ? own.key : own.keys.keyOf(params);
      const token = this.warm(own, key, params);
      return token !== undefined ? Promise.resolve(token.accessToken) : this.load(key, source, params).then(accessTokenOf);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /**
   * The cached token when a usable one is at hand, synchronously, counted as a hit (and starting the
   * background refresh when due), exactly as `getToken` would answer it; else `undefined`, and nothing is
   * fetched or counted. For hot paths that can skip an `await` (the Axios interceptor).
   */
  warmToken(source: string, params?: TokenParams): string | undefined {
    const own = this.sources.find(source);
    if (own === undefined) return undefined;
    return this.warm(own, params === undefined ? own.key : own.keys.keyOf(params), params)?.accessToken;
  }

  /** The cached token with its type, expiry and scopes (a read-only object). */
  async getCachedToken(source: string, params?: TokenParams): Promise<CachedToken> {
    assertTokenParams(params, 'getCachedToken');
    const own = this.sources.find(source);
    if (own === undefined) throw this.sources.unknown(source);
    const key = params === undefined ? own.key : own.keys.keyOf(params);
    return viewOf(this.warm(own, key, params) ?? (await this.load(key, source, params)));
  }

  /**
   * The usable token under `key`, counted as a hit (starting the background refresh when due); else undefined.
   * `params` only lends the refresh its `subjectToken`, which no entry keeps.
   */
  private warm(own: { counters: TokenCacheCounters }, key: string, params?: TokenParams): StoredToken | undefined {
    const token = this.store.getSync(key);
    if (token === undefined) return undefined;
    const now = this.clock.now();
    const timing = this.timingOf(token);
    if (now >= timing.usableUntil) return undefined;
    own.counters.hits++;
    const window = timing.refreshWindow;
    if (window !== undefined && now >= window.start && this.refreshDue(token, window, now)) this.refreshAhead(key, token, params?.subjectToken);
    return token;
  }

  /** What is cached and still usable (a read-only object), or undefined. Never fetches, never counts as a hit. */
  peek(source: string, params?: TokenParams): CachedToken | undefined {
    if (params === undefined) {
      // Most source names are their own key; an entry found under the bare name whose source is that name
      // can only be the parameterless entry (keys with parameters contain '|', which a name's key escapes).
      // Kept this small so it inlines: everything else is in peekByKey().
      const token = this.store.peek(source);
      if (token !== undefined && token.source === source) return this.viewIfUsable(token);
    } else {
      const own = this.sources.find(source);
      if (own !== undefined) return this.peekByKey(own.keys.keyOf(params));
    }
    return this.peekByKey(this.keyOf(source, params));
  }

  private peekByKey(key: string): CachedToken | undefined {
    const token = this.store.peek(key);
    return token === undefined ? undefined : this.viewIfUsable(token);
  }

  /**
   * The read-only view of a stored token while it is usable. The last token shown is remembered with its view
   * and usable-until (ES private fields: never shown by `util.inspect`), so a repeated peek of one key costs a
   * reference compare instead of two symbol-keyed property loads, whatever the token's shape.
   */
  private viewIfUsable(token: StoredToken): CachedToken | undefined {
    if (token !== this.#peeked) {
      const usableUntil = this.timingOf(token).usableUntil;
      if (this.clock.now() >= usableUntil) return undefined;
      this.#peekedView = viewOf(token);
      this.#peekedUntil = usableUntil;
      this.#peeked = token;
    }
    return this.clock.now() < this.#peekedUntil ? this.#peekedView : undefined;
  }

  /**
   * No usable token: while the key's fetches fail, serve the token held until its real expiry (less a transit
   * margin) and retry in the background; else join the fetch in flight, fail fast while backing off, or start
   * the one fetch. A fetch that fails while a servable token is held answers with that token. Only callers
   * count as hits or misses (`caller` false: a preload).
   */
  private load(key: string, source: string, params: TokenParams | undefined, caller = true): Promise<StoredToken> {
    this.sourceStates.markUsed(source);
    const now = this.clock.now();
    const failure = this.failures.get(key);
    const held = failure === undefined ? undefined : this.servable(key, now);
    const decision = loadDecision({
      now,
      failing: failure !== undefined,
      servableHeld: held !== undefined,
      inFlight: this.inFlight.has(key),
      nextFetchAtServable: () => this.failures.nextFetchAt(key, 'servable'),
      nextFetchAtNone: () => this.failures.nextFetchAt(key, 'none'),
    });
    if (decision.kind === 'fail-fast') return Promise.reject(failure!.lastError);
    // Only callers count: a preload is no call that waited (it would show 0 % on a fresh start).
    if (caller) this.count(source, decision.kind === 'serve-held' ? 'hits' : 'misses');
    if (decision.kind === 'serve-held') {
      if (decision.retry) this.refreshAhead(key, held!, params?.subjectToken, true);
      return Promise.resolve(held!);
    }
    if (decision.kind === 'join') return this.orServable(key, this.inFlight.get(key)!);
    const fetching = this.inFlight.track(key, this.readThroughOrFetch(key, requestFor(this.sources.get(source).key, key, source, params)));
    return this.orServable(key, this.inFlight.awaited(key, source, now, fetching));
  }


  /** The token held for `key` that may still be served while its fetches fail (up to its real expiry), if any. */
  private servable(key: string, now: number): StoredToken | undefined {
    const held = this.store.peek(key);
    return held !== undefined && now < this.timingOf(held).servableUntil ? held : undefined;
  }

  /** A failed fetch answers with the token still held for the key when that one may be served; else with the error. */
  private orServable(key: string, fetching: Promise<StoredToken>): Promise<StoredToken> {
    return fetching.catch((error: unknown) => {
      const held = this.servable(key, this.clock.now());
      if (held === undefined) throw error;
      return held;
    });
  }

  /** A shared store may already hold a token another instance fetched; else fetch. */
  private async readThroughOrFetch(key: string, request: TokenRequest): Promise<StoredToken> {
    if (this.store.fetchShared === undefined) {
      // A store that can't be read is a miss, not a failed call: fetching still works.
      const remote = await this.store.get(key).catch(() => undefined);
      if (remote !== undefined && this.isUsable(remote)) return remote;
    }
    return this.fetcher.fetch(key, request, 'fetched', (t) => this.isUsable(t));
  }

  // ---------------------------------------------------------------- writing

  /** Fetches a new token now (joining a fetch already in flight for the key) and caches it. */
  async refresh(source: string, params?: TokenParams): Promise<string> {
    assertTokenParams(params, 'refresh');
    const key = this.keyOf(source, params);
    this.sourceStates.markUsed(source);
    const inFlight = this.inFlight.get(key);
    if (inFlight !== undefined) return (await inFlight).accessToken;
    // Across instances (a shared store), a token another instance received after this call began is as new
    // as one fetched here; anything older is not.
    const requestedAt = this.clock.now();
    const token = await this.fetcher.start(key, requestFor(this.sources.get(source).key, key, source, params), 'refreshed', (t) => t.receivedAt > requestedAt && this.isUsable(t));
    return token.accessToken;
  }

  /**
   * Drops the entry. With `token`, only when that token is the one cached (compare-and-invalidate), so a
   * late 401 for an old token never throws away a newer one. Without `token`, a fetch of the key in flight
   * (started before the call) still answers its callers but is not stored, and later callers fetch anew, as
   * after `clear()`. True when an entry was removed.
   */
  async invalidate(source: string, params?: TokenParams, token?: string): Promise<boolean> {
    assertTokenParams(params, 'invalidate');
    if (token !== undefined && typeof token !== 'string') {
      throw new TokenCacheConfigError('token', messages.badParams('invalidate', 'token', `expected the token string to compare with, got ${describeValue(token)}`));
    }
    const key = this.keyOf(source, params);
    if (token === undefined) this.fetcher.invalidated(key);
    const removed = await this.store.delete(key, token);
    if (removed) {
      this.count(source, 'invalidations');
      this.emit('invalidated', source, key);
    }
    return removed;
  }

  /** Drops every entry, or those of one source. Returns how many were removed; emits one `cleared`. */
  async clear(source?: string): Promise<number> {
    if (source !== undefined) this.sources.get(source);
    this.fetcher.cleared(source);
    const prefix = source === undefined ? undefined : this.sources.get(source).key;
    const affected = (key: string) => prefix === undefined || SourceRegistry.owns(prefix, key);
    // Callers after a clear start a fetch of their own instead of joining one from before it.
    this.inFlight.forgetWhere(affected);
    const removed = await deleteEntries(this.store, (_, token) => source === undefined || token.source === source, { compare: false });
    this.failures.deleteWhere(affected);
    this.emit('cleared', source ?? '*', '*', { removed });
    return removed;
  }

  /** Removes entries whose tokens are no longer usable (of one source, when named); what the scheduled cleanup calls. */
  async removeExpired(source?: string): Promise<number> {
    if (source !== undefined) this.sources.get(source);
    const now = this.clock.now();
    const expired = (key: string, token: StoredToken) =>
      now >= this.timingOf(token).usableUntil &&
      (source === undefined || token.source === source) &&
      // A token still served through an IdP outage stays until its real expiry.
      !(this.failures.get(key) !== undefined && this.servable(key, now) === token);
    const removed = await deleteEntries(this.store, expired, {
      compare: true,
      removed: (key, token) => {
        this.count(token.source, 'expiredRemoved');
        this.emit('expired', token.source, key);
      },
    });
    // Forget failure bookkeeping of keys that are neither cached, fetching nor backing off.
    this.failures.deleteWhere((key) => now >= this.failures.nextFetchAt(key, 'none') && !this.inFlight.has(key) && this.store.peek(key) === undefined);
    return removed;
  }

  /** Fetches the `preload` sources (or those named). Failures are logged and returned, never thrown. */
  async preload(sources: string[] = this.options.preload): Promise<{ source: string; error?: Error }[]> {
    return Promise.all(
      sources.map(async (source) => {
        try {
          // Fetched (or read from a shared store) like a miss, but not counted as one: nobody called.
          const key = this.keyOf(source, undefined);
          if (this.peekByKey(key) === undefined) await this.load(key, source, undefined, false);
          return { source };
        } catch (error) {
          this.options.logger?.warn(`Preloading token source "${source}" failed: ${describeError(error).message}`);
          return { source, error: error as Error };
        }
      }),
    );
  }

  /**
   * Installs the token interceptors on an axios instance, or on `httpService.axiosRef` when given an
   * `HttpService`: `Authorization: Bearer <token>` on every request, one retry with a fresh token after a 401.
   * Returns the function that ejects them.
   */
  attach(target: TokenCacheAttachTarget, options: AttachTokenCacheOptions): () => void {
    return attachTokenCache(target, this, options);
  }

  // ---------------------------------------------------------------- observing

  stats(): TokenCacheStats {
    const totals = this.sources.totals();
    const { hits, misses } = totals;
    return {
      size: this.store.size,
      ...totals,
      hitRate: hits + misses === 0 ? 0 : hits / (hits + misses),
      inFlight: this.inFlight.size,
    };
  }

  /** The entries of this process's store, most recently used first. Never a token. */
  entries(): TokenCacheEntry[] {
    const now = this.clock.now();
    return [...this.store.entries()].map(([key, token]) => entryOf(key, token, this.stateOf(token, now), now));
  }

  /**
   * The DPoP key (RFC 9449) of a source with the `dpop` option, else undefined: its `thumbprint`, and
   * `proof()` to sign proofs for an HTTP client other than the built-in axios interceptor and `tokenFetch`.
   */
  dpopKey(source: string): DPoPKey | undefined {
    return dpopKeyOf(this.sources.get(source).source);
  }

  /** The configured source names. */
  /**
   * What `util.inspect` and `JSON.stringify` show of a cache: its sources, store and size, never its internals
   * (a fetch in flight holds its request, an on-behalf-of one its subject token).
   */
  [inspect.custom](): object {
    return this.toJSON();
  }

  toJSON(): { sources: string[]; store: string; size: number } {
    return { sources: this.sourceNames(), store: this.store.type, size: this.stats().size };
  }

  sourceNames(): string[] {
    return this.sources.names();
  }

  /** The kind of a configured source (`'client_credentials'`, `'function'`…). */
  sourceKind(source: string): string {
    return this.sources.get(source).source.kind;
  }

  /**
   * How each source is doing, for health checks: `failing` when its last fetch failed and it has no usable
   * token, `unused` when nothing asked for it yet, else the state of its best token.
   */
  sourceStatus(source: string): TokenSourceStatus {
    this.sources.get(source);
    const now = this.clock.now();
    const [bestKey, best] = latestEntryOf(this.store, source) ?? [];
    const waitingSince = this.inFlight.waitingSince(source);
    return sourceStatusOf({
      best: best && { state: this.servedStale(bestKey!, best, now) ? 'serving-stale' : this.stateOf(best, now), expiresInMs: best.expiresAt - now },
      ...this.sourceStates.facts(source),
      waitingMs: waitingSince === undefined ? undefined : now - waitingSince,
    });
  }

  /** Whether anything asked this source for a token yet. */
  isSourceUsed(source: string): boolean {
    return this.sourceStates.isUsed(source);
  }

  /** Stops watchers, closes sources and the store. The cache is unusable afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // The store starts closing first: a shared store then treats the fetches stopped below as stopped, not
    // failed (a fleet lock is released for the other instances, not marked failed).
    const storeClosed = (async () => this.store.close?.())();
    this.fetcher.close();
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
    await Promise.allSettled([...this.sources.all()].map(async ({ source }) => source.close?.()));
    await storeClosed;
    this.events.complete();
  }

  // ---------------------------------------------------------------- internals

  protected keyOf(source: string, params: TokenParams | undefined): string {
    return this.sources.keyOf(source, params);
  }

  /** The token's timing rules under this cache's options (token-timing.ts), computed once per token. */
  private timingOf(token: StoredToken): TokenTiming {
    return memoTiming(token, this.timing);
  }

  /** With a shared store, each instance refreshes at its own point of the window (refresh-jitter.ts). */
  private refreshDue(token: StoredToken, window: RefreshWindow, now: number): boolean {
    return this.jitter === undefined || this.jitter.due(token, window.start, window.end, now);
  }

  private isUsable(token: StoredToken): boolean {
    return this.clock.now() < this.timingOf(token).usableUntil;
  }

  /** Past its skew, and still served to callers because the key's fetches fail (up to servableUntil). */
  private servedStale(key: string, token: StoredToken, now: number): boolean {
    return tokenPhase(this.timingOf(token), now) === 'servable-if-failing' && this.failures.get(key) !== undefined;
  }

  private stateOf(token: StoredToken, now: number): TokenEntryState {
    return entryStateOf(this.timingOf(token), now);
  }

  /**
   * One background refresh per key, not while one is in flight or the key backs off. An exchanged token is
   * refreshed with the subject token of the caller that found it due (entries never keep one). `failing`: the
   * token is past usableUntil and served only because the key's fetches fail (the caller checked the backoff).
   */
  private refreshAhead(key: string, token: StoredToken, subjectToken?: string, failing = false): void {
    if (this.inFlight.has(key)) return;
    if (!failing && this.clock.now() < this.failures.nextFetchAt(key, 'usable')) return;
    this.fetcher.background(key, renewRequest(token, subjectToken), (t) => t.accessToken !== token.accessToken && this.isUsable(t), true);
  }

  private count(source: string, counter: keyof TokenCacheCounters): void {
    this.sources.count(source, counter);
  }

  private onStoreEvent(event: TokenStoreEvent): void {
    if (event.type === 'evicted') {
      this.count(event.token.source, 'evictions');
      this.emit('evicted', event.token.source, event.key);
    }
  }

  private emit(type: TokenCacheEventType, source: string, key: string, extra: Partial<TokenCacheEvent> = {}): void {
    if (!this.events.observed) return;
    this.events.next({ type, source, key, at: new Date(this.clock.now()), ...extra });
  }
}

const accessTokenOf = (token: StoredToken): string => token.accessToken;
