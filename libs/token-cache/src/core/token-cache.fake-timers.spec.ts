// Users test their apps with their framework's fake timers, not our `clock` option: the cache must follow them.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { tokenFunction } from './sources/token-function.source.js';
import { TokenCache } from './token-cache.js';

describe('with vi.useFakeTimers() and no clock option', () => {
  beforeEach(() => vi.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') }));
  afterEach(() => vi.useRealTimers());

  it('expires, refreshes ahead and backs off on faked time', async () => {
    let n = 0;
    let fail = false;
    const cache = new TokenCache({
      sources: {
        api: tokenFunction(() => {
          if (fail) throw new Error('IdP down');
          return { accessToken: `t${++n}`, expiresIn: 3600 };
        }),
      },
    });
    expect(await cache.getToken('api')).toBe('t1');
    vi.advanceTimersByTime(3_390_000 - 1); // the adaptive refresh window of a 1 h token starts 3.5 min before expiry
    expect(await cache.getToken('api')).toBe('t1');
    expect(n).toBe(1);
    vi.advanceTimersByTime(1); // refreshAt
    expect(await cache.getToken('api')).toBe('t1');
    await vi.waitFor(() => expect(cache.peek('api')?.accessToken).toBe('t2'));

    vi.setSystemTime(Date.now() + 3_600_000); // t2 is now expired
    expect(cache.peek('api')).toBeUndefined();
    fail = true;
    await expect(cache.getToken('api')).rejects.toMatchObject({ name: 'TokenFetchError' });
    await expect(cache.getToken('api')).rejects.toMatchObject({ name: 'TokenFetchError' });
    expect(cache.stats().fetches).toBe(3); // the second call was answered during the backoff
    fail = false;
    vi.advanceTimersByTime(1_200);
    expect(await cache.getToken('api')).toBe('t3');
    await cache.close();
  });

  it('times a fetch out on faked timers', async () => {
    const cache = new TokenCache({ fetchTimeoutMs: 5_000, sources: { api: tokenFunction(() => new Promise<string>(() => undefined)) } });
    const result = cache.getToken('api').catch((e: Error) => e);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await result).toMatchObject({ name: 'TokenFetchError', message: expect.stringContaining('timed out') });
    await cache.close();
  });
});
