/**
 * The fetch of one key, with its books kept: run the source (through the store's cross-instance single flight
 * when it has one), store the token unless a clear() came in between, and record the outcome (counts,
 * metrics, backoff, source state, events, logs). The cache decides when to fetch; this is how.
 */
import { typedFetchError } from './fetch-error.js';
import type { InFlight } from './in-flight.js';
import type { KeyFailures } from './key-failures.js';
import { SourceRegistry } from './source-registry.js';
import { runSource, sameTokenSameLife } from './source-run.js';
import { failureLogLevel, type SourceStates } from './source-states.js';
import { describeError, type TokenCacheError } from './token-cache.errors.js';
import type { TokenCacheMetrics } from './token-cache.metrics.js';
import type { ResolvedTokenCacheOptions } from './token-cache.options.js';
import type { Clock, TokenCacheEvent, TokenCacheEventType, TokenRequest } from './token-cache.types.js';
import type { StoredToken, TokenStore } from './token-store.interface.js';
import { renewRequest } from './token-request.js';
import { heldToken, MIN_TOKEN_LIFETIME_MS, type TokenTiming } from './token-timing.js';
import { FetchDurations } from './fetch-durations.js';
import { messages } from './token-cache.messages.js';

export interface TokenFetcherContext {
  options: ResolvedTokenCacheOptions;
  store: TokenStore;
  clock: Clock;
  sources: SourceRegistry;
  failures: KeyFailures;
  inFlight: InFlight;
  sourceStates: SourceStates;
  metrics: TokenCacheMetrics;
  timingOf(token: StoredToken): TokenTiming;
  emit(type: TokenCacheEventType, source: string, key: string, extra?: Partial<TokenCacheEvent>): void;
}

export class TokenFetcher {
  /** Bumped by clear(): a fetch started before a clear still answers its callers but is not stored. */
  private generation = 0;
  private readonly sourceGenerations = new Map<string, number>();
  /**
   * The keys with a fetch running, and how often an unconditional invalidate() dropped each meanwhile: such a
   * fetch still answers its callers but is not stored (as after a clear). An entry lives while its fetches run.
   */
  private readonly keyGenerations = new Map<string, { generation: number; running: number }>();
  /** How to stop each source call in flight (source-run.ts): close() calls them all. */
  private readonly running = new Set<() => void>();
  private closed = false;
  /** Each source's recent fetch durations: the refresh window leaves room for their p95. */
  private readonly durations = new FetchDurations();
  /** Sources whose last reply was short-lived and logged: one warning until a normal token arrives. */
  private readonly shortLived = new Set<string>();

  constructor(private readonly ctx: TokenFetcherContext) {}

  /**
   * Fetches `request` for `key` and stores the token. `accept`: with a shared store, whether a token another
   * instance stored meanwhile may be used instead. `ahead`: a refresh-ahead, counted in `refreshesAhead` only
   * when this instance calls the source (with a shared store another instance's token may answer it, and
   * `refreshesAhead` stays a part of `fetches`). Rejects with the typed, redacted error, recorded.
   */
  async fetch(key: string, request: TokenRequest, kind: 'fetched' | 'refreshed', accept: (token: StoredToken) => boolean, ahead = false): Promise<StoredToken> {
    const { options, store, clock } = this.ctx;
    const { source } = this.ctx.sources.get(request.source);
    const startedAt = clock.now();
    const generation = this.generation;
    const sourceGeneration = this.sourceGenerations.get(request.source) ?? 0;
    const timeoutMs = source.timeoutMs ?? options.fetchTimeoutMs;
    const keyState = this.keyGenerations.get(key) ?? { generation: 0, running: 0 };
    this.keyGenerations.set(key, keyState);
    keyState.running++;
    const keyGeneration = keyState.generation;
    const stillCurrent = () =>
      generation === this.generation && sourceGeneration === (this.sourceGenerations.get(request.source) ?? 0) && keyGeneration === keyState.generation;
    try {
      let token: StoredToken;
      const run = () => {
        this.ctx.sources.count(request.source, 'fetches');
        if (ahead) this.ctx.sources.count(request.source, 'refreshesAhead');
        const { defaultTtlMs, maxTtlMs, maxTokenBytes } = options;
        let shortLifetime: string | undefined;
        const ctx = { clock, timeoutMs, defaultTtlMs, maxTtlMs, maxTokenBytes, store, logger: options.logger, running: this.running, closed: this.closed, shortLifetime: (sent: string) => (shortLifetime = sent) };
        return runSource(source, request, ctx).then((t) => {
          this.noteLifetime(request.source, shortLifetime);
          // The refresh window leaves room for the source's p95 fetch time, not this one fetch's (token-timing.ts).
          const timed = { ...t, fetchMs: this.durations.record(request.source, t.fetchMs ?? Number.NaN) };
          return sameTokenSameLife(store.peek(key), timed, (token) => this.ctx.timingOf(token).usableUntil);
        });
      };
      if (store.fetchShared !== undefined) {
        token = await store.fetchShared(key, run, { accept, timeoutMs, shouldStore: stillCurrent });
      } else {
        token = await run();
        if (stillCurrent()) await this.storeFetched(key, token);
      }
      this.succeeded(key, request.source, kind, startedAt);
      return token;
    } catch (error) {
      const typed = this.typedError(error, request.source, key, request.subjectToken);
      // Stopped by close(): no failure of the source, no backoff, no retry to announce; its callers still get the error.
      if (this.closed) this.ctx.options.logger?.debug?.(`Token fetch for source "${request.source}" (${key}) stopped: the cache was closed`);
      else this.failed(key, request.source, typed, startedAt);
      throw typed;
    } finally {
      if (--keyState.running === 0 && this.keyGenerations.get(key) === keyState) this.keyGenerations.delete(key);
    }
  }

  /** Starts the key's fetch as the one callers of the key join (in-flight.ts). */
  start(key: string, request: TokenRequest, kind: 'fetched' | 'refreshed', accept: (token: StoredToken) => boolean, ahead = false): Promise<StoredToken> {
    return this.ctx.inFlight.track(key, this.fetch(key, request, kind, accept, ahead));
  }

  /** Starts a refresh nobody waits on: its failure is recorded, and a still-valid token stays in use. */
  background(key: string, request: TokenRequest, accept: (token: StoredToken) => boolean, ahead = false): void {
    this.start(key, request, 'refreshed', accept, ahead).catch(() => undefined);
  }

  /**
   * A watched source (a token file) changed: replace its cached entries at once. A key backing off after a
   * failure (the file was missing) may try again now; a key whose fetch is in flight fetches again after it,
   * since that fetch may have read the old content.
   */
  sourceChanged(source: string): void {
    const { inFlight, store } = this.ctx;
    const prefix = this.ctx.sources.get(source).key;
    this.ctx.failures.deleteWhere((key) => SourceRegistry.owns(prefix, key));
    for (const [key, token] of store.entries()) {
      if (token.source !== source) continue;
      const refetch = () => {
        if (!this.closed && !inFlight.has(key)) this.background(key, renewRequest(token), () => false);
      };
      const running = inFlight.get(key);
      if (running === undefined) refetch();
      else void running.then(refetch, refetch);
    }
  }

  /** After a clear (of one source, or all): fetches already running answer their callers but store nothing. */
  cleared(source?: string): void {
    if (source === undefined) this.generation++;
    else this.sourceGenerations.set(source, (this.sourceGenerations.get(source) ?? 0) + 1);
  }

  /**
   * After an unconditional invalidate() of `key`: a fetch of it already running answers its callers but stores
   * nothing (it may carry what the invalidation meant to drop), and later callers start a fetch of their own.
   */
  invalidated(key: string): void {
    const perKey = this.keyGenerations.get(key);
    if (perKey === undefined) return;
    perKey.generation++;
    this.ctx.inFlight.forgetWhere((k) => k === key);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Stops every source call in flight (their callers get a TokenFetchError); later calls stop at once. */
  close(): void {
    this.closed = true;
    for (const stop of [...this.running]) stop();
  }

  /**
   * A reply that left its token less than a second (token-timing.ts MIN_TOKEN_LIFETIME_MS) is used for that
   * second: warn once, naming the source and what it sent, until the source sends a normal token again.
   */
  private noteLifetime(source: string, sent: string | undefined): void {
    if (sent === undefined) {
      this.shortLived.delete(source);
    } else if (!this.shortLived.has(source)) {
      this.shortLived.add(source);
      this.ctx.options.logger?.warn(messages.shortLifetime(source, sent, MIN_TOKEN_LIFETIME_MS));
    }
  }

  /** A good token the store could not keep still goes to its callers: a store failure is not a fetch failure. */
  private async storeFetched(key: string, token: StoredToken): Promise<void> {
    try {
      await this.ctx.store.set(key, token);
    } catch (error) {
      this.ctx.options.logger?.warn(`Token store "${this.ctx.store.type}" could not keep the token for ${key}: ${describeError(error).name}`);
    }
  }

  /**
   * The typed, redacted error of a failed fetch (fetch-error.ts): removes every secret any source knows, the
   * token held for the failing key and each source's parameterless token. Bounded by the number of sources,
   * not of entries, so an IdP outage with many keys failing at once stays cheap.
   */
  private typedError(error: unknown, source: string, key: string, subjectToken?: string): TokenCacheError {
    const known: string[] = subjectToken !== undefined ? [subjectToken] : [];
    const keys = [key];
    for (const own of this.ctx.sources.all()) {
      known.push(...(own.source.secrets?.() ?? []));
      keys.push(own.key);
    }
    for (const k of keys) {
      const token = this.ctx.store.peek(k);
      if (token !== undefined) known.push(token.accessToken);
    }
    return typedFetchError(error, source, known);
  }

  private succeeded(key: string, source: string, kind: 'fetched' | 'refreshed', startedAt: number): void {
    const { clock, options } = this.ctx;
    this.ctx.failures.delete(key);
    const failedBefore = this.ctx.sourceStates.succeeded(source);
    // Failures were logged at warn/error: say when they stop, so an operator sees the incident end.
    if (failedBefore > 0) options.logger?.log?.(`Token source "${source}" recovered after ${failedBefore} failed fetch(es)`);
    const durationMs = clock.now() - startedAt;
    this.ctx.metrics.recordFetch(source, 'success', durationMs);
    this.ctx.emit(kind, source, key, { durationMs });
    options.logger?.debug?.(`Token ${kind} for source "${source}" (${key}) in ${durationMs} ms`);
  }

  private failed(key: string, source: string, error: TokenCacheError, startedAt: number): void {
    const { clock, failures } = this.ctx;
    this.ctx.sources.count(source, 'fetchFailures');
    const now = clock.now();
    this.ctx.metrics.recordFetch(source, 'failure', now - startedAt);
    const stored = this.ctx.store.peek(key);
    const held = heldToken(stored && this.ctx.timingOf(stored), now);
    failures.record(key, error, { startedAt, failedAt: now, held });
    const retryInMs = Math.max(0, failures.nextFetchAt(key, held) - now);
    const described = describeError(error);
    const inARow = this.ctx.sourceStates.failed(source, described, new Date(now));
    this.ctx.emit('fetch_failed', source, key, { durationMs: now - startedAt, error: described });
    const line = `Token fetch for source "${source}" (${key}) failed (${inARow} in a row; retry in ${retryInMs} ms): ${described.name}: ${described.message}`;
    this.ctx.options.logger?.[failureLogLevel(inARow)](line);
  }
}
