import { describe, expect, it } from 'vitest';
import { MemoryTokenStore } from './memory-token-store.js';
import { harness } from './testing/harness.js';

describe('LRU eviction', () => {
  it('evicts the least recently used entry past maxEntries, with an evicted event', async () => {
    const { cache, events } = harness({ maxEntries: 2 });
    await cache.getToken('api', { subject: 'a' });
    await cache.getToken('api', { subject: 'b' });
    await cache.getToken('api', { subject: 'a' }); // a hit makes "a" recently used
    await cache.getToken('api', { subject: 'c' }); // evicts "b"
    expect(cache.entries().map((e) => e.subject).sort()).toEqual(['a', 'c']);
    expect(cache.stats()).toMatchObject({ size: 2, evictions: 1 });
    expect(events.filter((e) => e.type === 'evicted')).toEqual([expect.objectContaining({ source: 'api', key: 'api|sub=b' })]);
  });

  it('peek does not count as use', async () => {
    const { cache } = harness({ maxEntries: 2 });
    await cache.getToken('api', { subject: 'a' });
    await cache.getToken('api', { subject: 'b' });
    cache.peek('api', { subject: 'a' });
    await cache.getToken('api', { subject: 'c' });
    expect(cache.entries().map((e) => e.subject).sort()).toEqual(['b', 'c']);
  });

  it('uses a store passed in, bounded by its own maxEntries', async () => {
    const store = new MemoryTokenStore({ maxEntries: 1 });
    const { cache } = harness({ store });
    await cache.getToken('api', { subject: 'a' });
    await cache.getToken('api', { subject: 'b' });
    expect(store.size).toBe(1);
    expect(cache.stats().evictions).toBe(1);
  });
});
