/** The retry rule after a failed fetch: 1 s, doubling per consecutive failure, ±20 % jitter, never over 30 s. */

export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_MAX_MS = 30_000;
export const BACKOFF_JITTER = 0.2;
/** A server's `Retry-After` is honoured up to this long. */
export const RETRY_AFTER_MAX_MS = 300_000;

/**
 * How long to wait after the `failures`-th consecutive failure (1 for the first).
 * `random` returns [0, 1); 0.5 gives the exact doubling. A server's `retryAfterMs` is a floor.
 */
export function backoffDelay(failures: number, random: () => number = Math.random, retryAfterMs?: number): number {
  const exp = BACKOFF_BASE_MS * 2 ** Math.min(30, Math.max(0, failures - 1));
  const jittered = exp * (1 - BACKOFF_JITTER + 2 * BACKOFF_JITTER * random());
  const delay = Math.round(Math.min(BACKOFF_MAX_MS, jittered));
  if (retryAfterMs !== undefined && retryAfterMs > delay) return Math.min(retryAfterMs, RETRY_AFTER_MAX_MS);
  return delay;
}
