import { describe, expect, it } from 'vitest';
import { isSourceDown, sourceStatusOf } from './source-status.js';

const lastError = { name: 'TokenFetchError', message: 'down', at: new Date(0) };

describe('sourceStatusOf', () => {
  it('a usable token wins over everything: valid / refresh-due, even while callers of other keys wait or fetches fail', () => {
    expect(sourceStatusOf({ best: { state: 'fresh', expiresInMs: 5 }, used: true, consecutiveFailures: 2, lastError, waitingMs: 10 })).toEqual({
      state: 'valid',
      expiresInMs: 5,
      consecutiveFailures: 2,
      lastError,
    });
    expect(sourceStatusOf({ best: { state: 'refresh-due', expiresInMs: 5 }, used: true, consecutiveFailures: 0 }).state).toBe('refresh-due');
  });

  it('a token past its skew still served because its fetches fail: serving-stale, with the time left to its real expiry and the last error', () => {
    expect(sourceStatusOf({ best: { state: 'serving-stale', expiresInMs: 800 }, used: true, consecutiveFailures: 3, lastError, waitingMs: 10 })).toEqual({
      state: 'serving-stale',
      expiresInMs: 800,
      consecutiveFailures: 3,
      lastError,
    });
  });

  it('no usable token and callers waiting on a fetch: waiting, with how long', () => {
    expect(sourceStatusOf({ used: true, consecutiveFailures: 0, waitingMs: 1_500 })).toEqual({ state: 'waiting', waitingMs: 1_500, consecutiveFailures: 0 });
    expect(sourceStatusOf({ best: { state: 'expired', expiresInMs: -3 }, used: true, consecutiveFailures: 1, lastError, waitingMs: 0 }).state).toBe('waiting');
  });

  it('no usable token, nobody waiting, the last fetch failed: failing', () => {
    expect(sourceStatusOf({ best: { state: 'expired', expiresInMs: -3 }, used: true, consecutiveFailures: 1, lastError })).toEqual({
      state: 'failing',
      consecutiveFailures: 1,
      lastError,
    });
  });

  it('only an expired entry: expired; entries removed: idle; never asked: unused', () => {
    expect(sourceStatusOf({ best: { state: 'expired', expiresInMs: -3 }, used: true, consecutiveFailures: 0 })).toEqual({
      state: 'expired',
      expiresInMs: 0,
      consecutiveFailures: 0,
    });
    expect(sourceStatusOf({ used: true, consecutiveFailures: 0 })).toEqual({ state: 'idle', consecutiveFailures: 0 });
    expect(sourceStatusOf({ used: false, consecutiveFailures: 0 })).toEqual({ state: 'unused', consecutiveFailures: 0 });
  });
});

describe('isSourceDown', () => {
  it('down: failing, or waiting after a failed or timed-out fetch', () => {
    expect(isSourceDown({ state: 'failing', consecutiveFailures: 1 })).toBe(true);
    expect(isSourceDown({ state: 'waiting', waitingMs: 10, consecutiveFailures: 1 })).toBe(true);
  });
  it('up: a first fetch in flight, a usable token (even with failed refreshes), a token served through failures, expired, idle, unused', () => {
    expect(isSourceDown({ state: 'waiting', waitingMs: 10, consecutiveFailures: 0 })).toBe(false);
    expect(isSourceDown({ state: 'refresh-due', expiresInMs: 1, consecutiveFailures: 4 })).toBe(false);
    expect(isSourceDown({ state: 'serving-stale', expiresInMs: 1, consecutiveFailures: 4 })).toBe(false);
    for (const state of ['valid', 'expired', 'idle', 'unused'] as const) expect(isSourceDown({ state, consecutiveFailures: 0 })).toBe(false);
  });
});
