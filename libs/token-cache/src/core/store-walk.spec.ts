import { describe, expect, it } from 'vitest';
import { MemoryTokenStore } from './memory-token-store.js';
import { deleteEntries, latestEntryOf } from './store-walk.js';
import type { StoredToken } from './token-store.interface.js';

const t = (accessToken: string, source: string, expiresAt: number): StoredToken => ({ accessToken, tokenType: 'Bearer', receivedAt: 0, expiresAt, source });

async function storeWith(entries: [string, StoredToken][]) {
  const store = new MemoryTokenStore({ maxEntries: 10 });
  for (const [key, token] of entries) await store.set(key, token);
  return store;
}

describe('deleteEntries', () => {
  it('deletes exactly what pick selects, reporting each one', async () => {
    const store = await storeWith([['a', t('1', 'a', 5)], ['b', t('2', 'b', 5)], ['a|x', t('3', 'a', 5)]]);
    const seen: string[] = [];
    const n = await deleteEntries(store, (_, token) => token.source === 'a', { compare: false, removed: (key) => seen.push(key) });
    expect(n).toBe(2);
    expect(seen.sort()).toEqual(['a', 'a|x']);
    expect([...store.entries()].map(([key]) => key)).toEqual(['b']);
  });

  it('with compare, an entry replaced meanwhile by a new token stays', async () => {
    const store = await storeWith([['a', t('old', 'a', 5)]]);
    const n = await deleteEntries(
      store,
      (key) => {
        void store.set(key, t('new', 'a', 9)); // a fetch landing between the look and the delete
        return true;
      },
      { compare: true },
    );
    expect(n).toBe(0);
    expect(store.peek('a')?.accessToken).toBe('new');
  });
});

describe('latestEntryOf', () => {
  it('the source\'s entry with the latest expiry, or undefined', async () => {
    const store = await storeWith([['a', t('1', 'a', 5)], ['a|x', t('2', 'a', 9)], ['b', t('3', 'b', 99)]]);
    expect(latestEntryOf(store, 'a')?.[0]).toBe('a|x');
    expect(latestEntryOf(store, 'c')).toBeUndefined();
  });
});
