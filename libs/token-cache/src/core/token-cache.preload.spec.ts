import { describe, expect, it } from 'vitest';
import { harness } from './testing/harness.js';

describe('preload', () => {
  it('fetches the token without counting a miss: a fresh start shows no calls, then 100 % hits', async () => {
    const { cache, source, events } = harness({ preload: ['api'] });
    expect(await cache.preload()).toEqual([{ source: 'api' }]);
    expect(source.count).toBe(1);
    expect(events.map((e) => e.type)).toEqual(['fetched']);
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 0, hitRate: 0, fetches: 1, size: 1 });
    expect(await cache.getToken('api')).toBe('token-1');
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 0, hitRate: 1, fetches: 1 });
  });

  it('a token already cached is not fetched again; callers joining a preload in flight count as misses', async () => {
    const { cache, source } = harness({ preload: ['api'] });
    source.manual = true;
    const preloading = cache.preload();
    const caller = cache.getToken('api');
    await new Promise((resolve) => setImmediate(resolve));
    expect(source.count).toBe(1);
    source.pending[0]!.resolve({ accessToken: 't', expiresIn: 3600 });
    await preloading;
    expect(await caller).toBe('t');
    expect(cache.stats()).toMatchObject({ misses: 1, hits: 0, fetches: 1 });
    await cache.preload();
    expect(source.count).toBe(1);
  });

  it('a failed preload is returned and logged, not thrown, and not counted as a miss', async () => {
    const { cache, source } = harness({ preload: ['api'] });
    source.reply = () => {
      throw new Error('idp down');
    };
    const [result] = await cache.preload();
    expect(result!.error).toBeInstanceOf(Error);
    expect(cache.stats()).toMatchObject({ misses: 0, fetchFailures: 1 });
  });
});
