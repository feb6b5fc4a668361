import { describe, expect, it } from 'vitest';
import { loadDecision, type LoadFacts } from './load-decision.js';

const facts = (over: Partial<LoadFacts> = {}): LoadFacts => ({
  now: 1_000,
  failing: false,
  servableHeld: false,
  inFlight: false,
  nextFetchAtServable: () => 2_000,
  nextFetchAtNone: () => 2_000,
  ...over,
});

describe('loadDecision', () => {
  it('nothing held, nothing failing, nothing in flight: fetch', () => {
    expect(loadDecision(facts())).toEqual({ kind: 'fetch' });
  });

  it('a fetch in flight: join it (one fetch per key however many callers)', () => {
    expect(loadDecision(facts({ inFlight: true }))).toEqual({ kind: 'join' });
    expect(loadDecision(facts({ inFlight: true, failing: true }))).toEqual({ kind: 'join' });
  });

  it('fetches fail and a token may still be served: serve it; retry in the background once the backoff allows and none runs', () => {
    expect(loadDecision(facts({ failing: true, servableHeld: true }))).toEqual({ kind: 'serve-held', retry: false });
    expect(loadDecision(facts({ failing: true, servableHeld: true, now: 2_000 }))).toEqual({ kind: 'serve-held', retry: true });
    expect(loadDecision(facts({ failing: true, servableHeld: true, now: 2_000, inFlight: true }))).toEqual({ kind: 'serve-held', retry: false });
  });

  it('a held token is served only while failing: a token past its skew with no failure is fetched again', () => {
    expect(loadDecision(facts({ servableHeld: true }))).toEqual({ kind: 'fetch' });
  });

  it('failing with nothing to serve: the last error at once while backing off, then one fetch', () => {
    expect(loadDecision(facts({ failing: true }))).toEqual({ kind: 'fail-fast' });
    expect(loadDecision(facts({ failing: true, now: 2_000 }))).toEqual({ kind: 'fetch' });
  });
});
