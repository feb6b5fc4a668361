import { describe, expect, it } from 'vitest';
import { MemoryTokenStore } from './memory-token-store.js';
import type { StoredToken, TokenStoreEvent } from './token-store.interface.js';

const t = (accessToken: string): StoredToken => ({ accessToken, tokenType: 'Bearer', receivedAt: 0, expiresAt: 1, source: 's' });

/** peek() answers from a Map kept in step with the LRU: it must never show what the LRU no longer holds. */
describe('MemoryTokenStore peek', () => {
  it('sees sets, replacements and deletes (compare-and-delete too)', async () => {
    const store = new MemoryTokenStore({ maxEntries: 10 });
    expect(store.peek('a')).toBeUndefined();
    await store.set('a', t('1'));
    expect(store.peek('a')?.accessToken).toBe('1');
    await store.set('a', t('2'));
    expect(store.peek('a')?.accessToken).toBe('2');
    expect(await store.delete('a', '1')).toBe(false);
    expect(store.peek('a')?.accessToken).toBe('2');
    expect(await store.delete('a', '2')).toBe(true);
    expect(store.peek('a')).toBeUndefined();
  });

  it('an evicted entry is gone from peek too, and peek does not mark an entry used', async () => {
    const store = new MemoryTokenStore({ maxEntries: 2 });
    const events: TokenStoreEvent[] = [];
    store.subscribe((e) => events.push(e));
    await store.set('a', t('1'));
    await store.set('b', t('2'));
    store.peek('a'); // not a use: 'a' stays the least recently used
    await store.set('c', t('3'));
    expect(store.peek('a')).toBeUndefined();
    expect(events).toEqual([{ type: 'evicted', key: 'a', token: t('1') }]);
    expect([...store.entries()].map(([k]) => k).sort()).toEqual(['b', 'c']);
    expect(store.peek('b')?.accessToken).toBe('2');
    store.getSync('b'); // a use: now 'c' is the oldest
    await store.set('d', t('4'));
    expect(store.peek('c')).toBeUndefined();
    expect(store.peek('b')?.accessToken).toBe('2');
  });

  it('close() empties it', async () => {
    const store = new MemoryTokenStore({ maxEntries: 5 });
    await store.set('a', t('1'));
    await store.close();
    expect(store.peek('a')).toBeUndefined();
    expect(store.size).toBe(0);
  });
});
