import { describe, expect, it } from 'vitest';
import { TokenCache, tokenFunction } from './index.js';
import { FakeClock, flush } from './testing/fake-clock.js';

describe('smoke', () => {
  it('single flight + refresh ahead', async () => {
    const clock = new FakeClock();
    let n = 0;
    const cache = new TokenCache({ clock, sources: { a: tokenFunction(async () => ({ accessToken: `t${++n}`, expiresIn: 3600 })) } });
    const all = await Promise.all(Array.from({ length: 50 }, () => cache.getToken('a')));
    expect(new Set(all)).toEqual(new Set(['t1']));
    clock.advance(3300_000 + 1);
    expect(await cache.getToken('a')).toBe('t1');
    await flush();
    expect(await cache.getToken('a')).toBe('t2');
    expect(cache.stats()).toMatchObject({ fetches: 2, refreshesAhead: 1 });
  });
});
