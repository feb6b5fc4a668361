/** How long a key the store writes lives in Redis: every key gets a TTL, whatever the token's lifetime. */

/**
 * The longest TTL the store gives a token key: a token that claims to live longer (`expires_in: 1e20`, a
 * `maxTtlMs` raised past it) still expires from Redis; instances then fetch anew. 30 days.
 */
export const MAX_KEY_TTL_MS = 30 * 24 * 3_600_000;

/**
 * The TTL (ms, a positive integer) of a key for a token that expires at `expiresAt` (epoch ms), or undefined
 * when it is already expired (or not a time at all): such a token is not written.
 */
export function tokenKeyTtlMs(expiresAt: number, now: number): number | undefined {
  const ttl = Math.ceil(expiresAt - now);
  if (!Number.isFinite(expiresAt) || !(ttl > 0)) return undefined;
  return Math.min(ttl, MAX_KEY_TTL_MS);
}
