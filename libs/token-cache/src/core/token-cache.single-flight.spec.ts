import { describe, expect, it } from 'vitest';
import { flush } from './testing/fake-clock.js';
import { harness } from './testing/harness.js';

describe('single flight', () => {
  it('makes one source call however many callers ask for one key at once', async () => {
    const { cache, source } = harness();
    source.manual = true;
    const callers = Array.from({ length: 200 }, () => cache.getToken('api'));
    await flush();
    expect(source.count).toBe(1);
    expect(cache.stats().inFlight).toBe(1);
    source.pending[0]!.resolve({ accessToken: 'shared', expiresIn: 3600 });
    expect(new Set(await Promise.all(callers))).toEqual(new Set(['shared']));
    expect(cache.stats()).toMatchObject({ fetches: 1, misses: 200, hits: 0, inFlight: 0 });
    expect(await cache.getToken('api')).toBe('shared');
    expect(cache.stats()).toMatchObject({ fetches: 1, hits: 1 });
  });

  it('never shares a fetch or a token between different keys', async () => {
    const { cache, source } = harness();
    const params = [undefined, { subject: 'alice' }, { subject: 'bob' }, { scopes: ['read'] }, { audience: 'https://x' }, { resource: 'https://r' }];
    const tokens = await Promise.all(params.flatMap((p) => [cache.getToken('api', p), cache.getToken('api', p)]));
    expect(source.count).toBe(params.length);
    expect(new Set(tokens).size).toBe(params.length);
    expect(source.calls.map((c) => c.subject ?? c.scopes?.[0] ?? c.audience ?? c.resource ?? '-')).toEqual(['-', 'alice', 'bob', 'read', 'https://x', 'https://r']);
  });

  it('shares one entry for scopes given in another order or with duplicates', async () => {
    const { cache, source } = harness();
    const [a, b] = await Promise.all([cache.getToken('api', { scopes: ['b', 'a'] }), cache.getToken('api', { scopes: ['a', 'b', 'a'] })]);
    expect(a).toBe(b);
    expect(source.count).toBe(1);
    expect(source.calls[0]!.scopes).toEqual(['a', 'b']);
  });

  it('gives every waiting caller the error of a failed fetch, and caches nothing', async () => {
    const { cache, source } = harness();
    source.reply = () => {
      throw new Error('boom');
    };
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => cache.getToken('api')));
    expect(results.every((r) => r.status === 'rejected' && (r.reason as Error).name === 'TokenFetchError')).toBe(true);
    expect(source.count).toBe(1);
    expect(cache.entries()).toEqual([]);
    expect(cache.peek('api')).toBeUndefined();
  });

  it('returns the cached token details', async () => {
    const { cache, clock } = harness();
    const t = await cache.getCachedToken('api', { scopes: ['x'] });
    expect(t).toEqual({ accessToken: 'token-1', tokenType: 'Bearer', expiresAt: new Date(clock.now() + 3_600_000), scopes: ['x'] });
    expect(cache.peek('api', { scopes: ['x'] })).toEqual(t);
  });

  it('warmToken answers synchronously from the cache only: a hit when warm, undefined (nothing fetched) when cold', async () => {
    const { cache, source, clock } = harness();
    expect(cache.warmToken('api')).toBeUndefined();
    expect(cache.warmToken('nope')).toBeUndefined();
    expect(source.count).toBe(0);
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 0 });
    await cache.getToken('api', { scopes: ['b', 'a'] });
    expect(cache.warmToken('api', { scopes: ['a', 'b'] })).toBe('token-1');
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1 });
    clock.advance(3_390_000); // refresh due (adaptive window): still answered, and the background refresh starts
    expect(cache.warmToken('api', { scopes: ['a', 'b'] })).toBe('token-1');
    expect(source.count).toBe(2);
    clock.advance(210_000);
    expect(cache.warmToken('api')).toBeUndefined();
  });

  it('rejects an unknown source with UnknownTokenSourceError naming the known ones', async () => {
    const { cache } = harness();
    await expect(cache.getToken('nope')).rejects.toMatchObject({ name: 'UnknownTokenSourceError', source: 'nope', message: expect.stringContaining('"api"') });
    expect(() => cache.peek('nope')).toThrow(/Unknown token source "nope"/);
    await expect(cache.refresh('nope')).rejects.toThrow(/Unknown token source/);
  });
});
