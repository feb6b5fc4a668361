/** What callers and operators see of a stored token: the `CachedToken` view (with the token) and the entry (without). */
import type { CachedToken, TokenCacheEntry, TokenEntryState } from './token-cache.types.js';
import type { StoredToken } from './token-store.interface.js';

/** The `CachedToken` view of a stored token, made once per token and frozen, so reads allocate nothing. */
const VIEW = Symbol('view');

export function viewOf(token: StoredToken): CachedToken {
  const existing = (token as StoredToken & { [VIEW]?: CachedToken })[VIEW];
  if (existing !== undefined) return existing;
  const view: CachedToken = Object.freeze({
    accessToken: token.accessToken,
    tokenType: token.tokenType,
    expiresAt: new Date(token.expiresAt),
    ...(token.scopes !== undefined && { scopes: Object.freeze([...token.scopes]) as string[] }),
  });
  // Not enumerable: never serialized or copied with the token (a shared store writes StoredToken as JSON).
  Object.defineProperty(token, VIEW, { value: view });
  return view;
}

/** The `entries()` row of a stored token at `now`: its key's parameters and timing, never the token. */
export function entryOf(key: string, token: StoredToken, state: TokenEntryState, now: number): TokenCacheEntry {
  return {
    key,
    source: token.source,
    ...(token.subject !== undefined && { subject: token.subject }),
    ...(token.requestedScopes !== undefined && { scopes: [...token.requestedScopes] }),
    ...(token.audience !== undefined && { audience: token.audience }),
    ...(token.resource !== undefined && { resource: token.resource }),
    expiresAt: new Date(token.expiresAt),
    expiresInMs: Math.max(0, token.expiresAt - now),
    state,
  };
}
