import { describe, expect, it } from 'vitest';
import { harness } from './testing/harness.js';

describe('invalidate', () => {
  it('drops the entry so the next call fetches', async () => {
    const { cache, source, events } = harness();
    await cache.getToken('api');
    expect(await cache.invalidate('api')).toBe(true);
    expect(cache.peek('api')).toBeUndefined();
    expect(await cache.getToken('api')).toBe('token-2');
    expect(source.count).toBe(2);
    expect(cache.stats().invalidations).toBe(1);
    expect(events.map((e) => e.type)).toEqual(['fetched', 'invalidated', 'fetched']);
  });

  it('with a token, drops only if that token is the one cached', async () => {
    const { cache, source } = harness();
    const old = await cache.getToken('api');
    await cache.invalidate('api', undefined, old);
    const current = await cache.getToken('api');
    // A late 401 for the old token changes nothing.
    expect(await cache.invalidate('api', undefined, old)).toBe(false);
    expect(await cache.getToken('api')).toBe(current);
    expect(source.count).toBe(2);
    expect(cache.stats().invalidations).toBe(1);
  });

  it('touches only the key named', async () => {
    const { cache } = harness();
    await cache.getToken('api', { subject: 'a' });
    await cache.getToken('api', { subject: 'b' });
    expect(await cache.invalidate('api', { subject: 'a' })).toBe(true);
    expect(cache.peek('api', { subject: 'b' })).toBeDefined();
    expect(await cache.invalidate('api', { subject: 'zzz' })).toBe(false);
  });

  it('clear() drops everything or one source, emitting one cleared event', async () => {
    const { cache, events } = harness({}, ['a', 'b']);
    await Promise.all([cache.getToken('a'), cache.getToken('a', { subject: 'x' }), cache.getToken('b')]);
    expect(await cache.clear('a')).toBe(2);
    expect(cache.entries().map((e) => e.source)).toEqual(['b']);
    expect(events.filter((e) => e.type === 'cleared')).toEqual([expect.objectContaining({ source: 'a', removed: 2 })]);
    expect(await cache.clear()).toBe(1);
    expect(cache.stats().size).toBe(0);
    expect(events.filter((e) => e.type === 'cleared')).toHaveLength(2);
  });

  it('invalidate() without a token during a fetch: the fetch answers its callers, is not stored, and later callers fetch anew', async () => {
    const { cache, source } = harness();
    source.manual = true;
    const pending = cache.getToken('api');
    await new Promise((r) => setImmediate(r));
    expect(await cache.invalidate('api')).toBe(false); // nothing was cached yet
    const later = cache.getToken('api'); // does not join the fetch from before the invalidation
    await new Promise((r) => setImmediate(r));
    expect(source.pending).toHaveLength(2);
    source.pending[0]!.resolve({ accessToken: 'from-before', expiresIn: 60 });
    expect(await pending).toBe('from-before');
    expect(cache.peek('api')).toBeUndefined();
    source.pending[1]!.resolve({ accessToken: 'from-after', expiresIn: 60 });
    expect(await later).toBe('from-after');
    expect(cache.peek('api')?.accessToken).toBe('from-after');
    // Another key's fetch and a compare-and-invalidate are not touched.
    const other = cache.getToken('api', { subject: 'b' });
    await new Promise((r) => setImmediate(r));
    expect(await cache.invalidate('api', { subject: 'b' }, 'not-the-token')).toBe(false);
    source.pending[2]!.resolve({ accessToken: 'b-token', expiresIn: 60 });
    expect(await other).toBe('b-token');
    expect(cache.peek('api', { subject: 'b' })?.accessToken).toBe('b-token');
  });

  it('a fetch in flight during clear() answers its callers but is not stored', async () => {
    const { cache, source } = harness();
    source.manual = true;
    const pending = cache.getToken('api');
    await new Promise((r) => setImmediate(r));
    await cache.clear();
    source.pending[0]!.resolve({ accessToken: 'stale', expiresIn: 60 });
    expect(await pending).toBe('stale');
    expect(cache.peek('api')).toBeUndefined();
  });
});
