/** Walks over the entries a store holds in this process: what clear(), removeExpired() and health read. */
import type { StoredToken, TokenStore } from './token-store.interface.js';

/**
 * Deletes the entries `pick` selects, one by one (a shared store tells the other instances each time). With
 * `compare`, an entry is deleted only while it still holds the token seen (a token fetched meanwhile stays).
 * Calls `removed` for each one deleted; returns how many were.
 */
export async function deleteEntries(
  store: TokenStore,
  pick: (key: string, token: StoredToken) => boolean,
  options: { compare: boolean; removed?: (key: string, token: StoredToken) => void },
): Promise<number> {
  let count = 0;
  // A copy: deleting while iterating a live LRU would skip entries.
  for (const [key, token] of [...store.entries()]) {
    if (!pick(key, token)) continue;
    if (await store.delete(key, options.compare ? token.accessToken : undefined)) {
      count++;
      options.removed?.(key, token);
    }
  }
  return count;
}

/** The entry of `source` with the latest expiry (what health shows for the source), if it has any. */
export function latestEntryOf(store: TokenStore, source: string): [string, StoredToken] | undefined {
  let best: [string, StoredToken] | undefined;
  for (const [key, token] of store.entries()) {
    if (token.source === source && (best === undefined || token.expiresAt > best[1].expiresAt)) best = [key, token];
  }
  return best;
}
