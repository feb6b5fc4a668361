import { describe, expect, it } from 'vitest';
import { flush } from './testing/fake-clock.js';
import { harness } from './testing/harness.js';

const HOUR = 3_600_000;

describe('refresh ahead', () => {
  it('serves the cached token at once from refreshAt and refreshes once in the background', async () => {
    // API 0.2: with refreshBeforeExpiryMs unset the window adapts to the lifetime: for an hour it starts at
    // usableUntil (expiresAt - 30 s) less a twentieth of the lifetime (3 min), 3.5 min before expiry.
    const { cache, source, clock, events } = harness();
    source.manual = true;
    const first = cache.getToken('api');
    await flush();
    source.pending[0]!.resolve({ accessToken: 'old', expiresIn: 3600 });
    expect(await first).toBe('old');

    clock.advance(HOUR - 210_000 - 1); // just before refreshAt = expiresAt - 3.5 min
    expect(await cache.getToken('api')).toBe('old');
    expect(source.count).toBe(1);
    expect(cache.entries()[0]!.state).toBe('fresh');

    clock.advance(1); // refreshAt
    expect(cache.entries()[0]!.state).toBe('refresh-due');
    const during = await Promise.all(Array.from({ length: 20 }, () => cache.getToken('api')));
    expect(new Set(during)).toEqual(new Set(['old'])); // nobody waited
    expect(source.count).toBe(2); // one background refresh
    expect(cache.stats()).toMatchObject({ refreshesAhead: 1, hits: 21, misses: 1 });

    source.pending[1]!.resolve({ accessToken: 'new', expiresIn: 3600 });
    await flush();
    expect(await cache.getToken('api')).toBe('new');
    expect(events.filter((e) => e.type === 'refreshed')).toHaveLength(1);
    expect(cache.entries()[0]!.state).toBe('fresh');
  });

  it('caps an explicit refreshBeforeExpiryMs at half the lifetime of short tokens (its 0.1 meaning)', async () => {
    const { cache, source, clock } = harness({ refreshBeforeExpiryMs: 300_000 });
    source.reply = (_r, n) => ({ accessToken: `t${n}`, expiresIn: 120 }); // 2 min: window 60 s, not 5 min
    await cache.getToken('api');
    clock.advance(59_999);
    await cache.getToken('api');
    expect(source.count).toBe(1);
    clock.advance(1);
    expect(await cache.getToken('api')).toBe('t1');
    await flush();
    expect(source.count).toBe(2);
    expect(await cache.getToken('api')).toBe('t2');
  });

  it('is off with refreshBeforeExpiryMs: 0; the token is then fetched when it expires', async () => {
    const { cache, source, clock } = harness({ refreshBeforeExpiryMs: 0 });
    await cache.getToken('api');
    clock.advance(HOUR - 30_001);
    expect(await cache.getToken('api')).toBe('token-1');
    await flush();
    expect(source.count).toBe(1);
    clock.advance(1); // expiresAt - expirySkewMs
    expect(await cache.getToken('api')).toBe('token-2');
    expect(source.count).toBe(2);
  });

  it('keeps the still-valid token when a background refresh fails, and retries with backoff', async () => {
    const { cache, source, clock, events } = harness();
    await cache.getToken('api');
    source.reply = () => {
      throw Object.assign(new Error('IdP down'), { code: 'ECONNREFUSED' });
    };
    clock.advance(HOUR - 210_000); // the adaptive window's start
    expect(await cache.getToken('api')).toBe('token-1');
    await flush();
    expect(source.count).toBe(2);
    expect(events.at(-1)).toMatchObject({ type: 'fetch_failed', error: { name: 'TokenFetchError' } });

    // Within the 1 s backoff: cached token served, no new attempt.
    clock.advance(999);
    expect(await cache.getToken('api')).toBe('token-1');
    await flush();
    expect(source.count).toBe(2);
    // After it: one retry, which fails again -> 2 s backoff.
    clock.advance(1);
    expect(await cache.getToken('api')).toBe('token-1');
    await flush();
    expect(source.count).toBe(3);
    clock.advance(1_999);
    await cache.getToken('api');
    await flush();
    expect(source.count).toBe(3);
    // The IdP recovers: next retry replaces the token.
    source.reply = () => ({ accessToken: 'fresh', expiresIn: 3600 });
    clock.advance(1);
    expect(await cache.getToken('api')).toBe('token-1');
    await flush();
    expect(await cache.getToken('api')).toBe('fresh');
    expect(cache.stats()).toMatchObject({ fetchFailures: 2, refreshesAhead: 3, fetches: 4 });
  });

  it('refresh() fetches now, emits refreshed and replaces the token', async () => {
    const { cache, source, events } = harness();
    await cache.getToken('api');
    expect(await cache.refresh('api')).toBe('token-2');
    expect(await cache.getToken('api')).toBe('token-2');
    expect(source.count).toBe(2);
    expect(events.map((e) => e.type)).toEqual(['fetched', 'refreshed']);
  });
});

describe('DEFAULTS.refreshBeforeExpiryMs (0.1 code upgrading)', () => {
  it('is undefined, and passing it on selects the adaptive window, as leaving the option unset does', async () => {
    const { DEFAULTS } = await import('./token-cache.options.js');
    expect(DEFAULTS.refreshBeforeExpiryMs).toBeUndefined();
    expect(Object.keys(DEFAULTS)).toContain('refreshBeforeExpiryMs');
    const { cache, source, clock } = harness({ refreshBeforeExpiryMs: DEFAULTS.refreshBeforeExpiryMs });
    source.reply = (_r, n) => ({ accessToken: `t${n}`, expiresIn: 3600 });
    await cache.getToken('api');
    clock.advance(HOUR - 300_000); // 0.1's default would have refreshed here (5 min before expiry)
    await cache.getToken('api');
    await flush();
    expect(source.count).toBe(1);
    clock.advance(300_000 - 210_000); // the adaptive start: 3.5 min before expiry
    await cache.getToken('api');
    await flush();
    expect(source.count).toBe(2);
  });
});
