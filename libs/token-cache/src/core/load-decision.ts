/**
 * What a call that found no usable token does (the cache's `load`), as one rule: serve the token held through
 * an outage, join the fetch in flight, fail fast while backing off, or start the one fetch.
 */

export type LoadDecision =
  /** The key's fetches fail and a token may still be served: the caller gets it (a hit); `retry`: start a background fetch. */
  | { kind: 'serve-held'; retry: boolean }
  /** A fetch of the key is in flight: the caller waits on it (a miss). */
  | { kind: 'join' }
  /** The key backs off after a failure: the caller gets the last error at once, nothing is fetched. */
  | { kind: 'fail-fast' }
  /** Start the key's fetch; the caller waits on it (a miss). */
  | { kind: 'fetch' };

export interface LoadFacts {
  now: number;
  /** Whether the key's last fetch failed (and was not followed by a success). */
  failing: boolean;
  /** Whether the key holds a token that may be served while its fetches fail (past its skew, before its expiry). */
  servableHeld: boolean;
  inFlight: boolean;
  /** When the key may fetch again (token-timing.ts `nextFetchAt`) with a servable token held, and with none. */
  nextFetchAtServable: () => number;
  nextFetchAtNone: () => number;
}

export function loadDecision(facts: LoadFacts): LoadDecision {
  if (facts.failing && facts.servableHeld) return { kind: 'serve-held', retry: !facts.inFlight && facts.now >= facts.nextFetchAtServable() };
  if (facts.inFlight) return { kind: 'join' };
  if (facts.failing && facts.now < facts.nextFetchAtNone()) return { kind: 'fail-fast' };
  return { kind: 'fetch' };
}
