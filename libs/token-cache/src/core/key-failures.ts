/**
 * The cache's memory of failed fetches, per key: what drives backoff (`nextFetchAt` in token-timing) and the
 * error that callers get at once while a key backs off. Bounded like the store, so an IdP outage across
 * many subjects can't grow it.
 */
import { backoffDelay, RETRY_AFTER_MAX_MS } from './backoff.js';
import { TokenFetchError } from './token-cache.errors.js';
import { nextFetchAt, type FetchFailure, type HeldToken } from './token-timing.js';

export interface KeyFailure extends FetchFailure {
  lastError: Error;
}

export class KeyFailures {
  private readonly byKey = new Map<string, KeyFailure>();

  constructor(
    private readonly maxEntries: number,
    private readonly random: () => number,
  ) {}

  get(key: string): KeyFailure | undefined {
    return this.byKey.get(key);
  }

  /** Records a failed fetch of `key` that started at `startedAt` and failed at `failedAt`. */
  record(key: string, error: Error, at: { startedAt: number; failedAt: number; held: HeldToken }): KeyFailure {
    const failures = (this.byKey.get(key)?.failures ?? 0) + 1;
    // A TokenFetchError says whether it may heal by itself (network, 5xx, 429); anything else (a bad reply,
    // a bug in a source) is treated like a refused request: the doubling backoff.
    const retryable = error instanceof TokenFetchError && error.retryable;
    const retryAfterMs = error instanceof TokenFetchError ? error.retryAfterMs : undefined;
    const failure: KeyFailure = {
      failures,
      ...at,
      retryable,
      ...(retryAfterMs !== undefined && { retryAfterMs: Math.min(retryAfterMs, RETRY_AFTER_MAX_MS) }),
      backoffMs: backoffDelay(failures, this.random),
      lastError: error,
    };
    // Most recently failed last, so the oldest is dropped first when the bound is reached.
    this.byKey.delete(key);
    this.byKey.set(key, failure);
    if (this.byKey.size > this.maxEntries) this.byKey.delete(this.byKey.keys().next().value!);
    return failure;
  }

  /** When `key` may fetch again (see `nextFetchAt`); `-Infinity` when its last fetch did not fail. */
  nextFetchAt(key: string, heldNow: HeldToken): number {
    const failure = this.byKey.get(key);
    return failure === undefined ? -Infinity : nextFetchAt(failure, heldNow);
  }

  delete(key: string): void {
    this.byKey.delete(key);
  }

  /** Forgets the keys `matches` selects. */
  deleteWhere(matches: (key: string) => boolean): void {
    for (const key of [...this.byKey.keys()]) if (matches(key)) this.byKey.delete(key);
  }

  keys(): IterableIterator<string> {
    return this.byKey.keys();
  }
}
