/** How a source is doing, from what the cache knows (best token, failures, waiting callers): one rule, one home. */
import type { TokenEntryState, TokenSourceStatus } from './token-cache.types.js';

export interface SourceStatusFacts {
  /**
   * The source's entry with the latest expiry, if any: its state and time left (ms). `serving-stale`: past its
   * skew, and still served because its key's fetches fail (up to its real expiry less a transit margin).
   */
  best?: { state: TokenEntryState | 'serving-stale'; expiresInMs: number };
  /** Whether anything asked this source for a token since the cache started. */
  used: boolean;
  consecutiveFailures: number;
  lastError?: { name: string; message: string; at: Date };
  /** How long callers have been waiting on a fetch of this source (the oldest such fetch), in ms. */
  waitingMs?: number;
}

/**
 * The state shown in health details and the demo dashboard, in this order:
 * - `valid` / `refresh-due`: a usable token is held (whatever else happens, callers get it at once);
 * - `serving-stale`: the token is past its skew and its key's fetches fail, so callers still get it (until its
 *   real expiry less a transit margin): degraded, still up, `lastError` says why;
 * - `waiting`: no usable token, and callers wait on a fetch in flight (`waitingMs` says for how long);
 * - `failing`: no usable token, and the last fetch failed;
 * - `expired`: only an expired entry is left (the cleanup removes it);
 * - `idle`: used before, holds no entry now (removed by `invalidate`, `clear`, the admin route or the cleanup);
 * - `unused`: nothing asked for a token yet.
 */
export function sourceStatusOf(facts: SourceStatusFacts): TokenSourceStatus {
  const base = { consecutiveFailures: facts.consecutiveFailures, ...(facts.lastError && { lastError: { ...facts.lastError } }) };
  const { best } = facts;
  if (best !== undefined && best.state !== 'expired') {
    const state = best.state === 'fresh' ? 'valid' : best.state;
    return { state, expiresInMs: Math.max(0, best.expiresInMs), ...base };
  }
  if (facts.waitingMs !== undefined) return { state: 'waiting', waitingMs: Math.max(0, facts.waitingMs), ...base };
  if (facts.consecutiveFailures > 0) return { state: 'failing', ...base };
  if (best !== undefined) return { state: 'expired', expiresInMs: 0, ...base };
  return { state: facts.used ? 'idle' : 'unused', ...base };
}

/**
 * Whether a source's status makes a health check down: it has no token left to serve and its fetches fail
 * (`failing`; `serving-stale` is up: callers still get a token the API accepts), or its callers wait on a fetch after fetches failed or timed out (`waiting` with
 * `consecutiveFailures > 0`). A first fetch still within its timeout (`waiting`, no failure) is not a fault.
 */
export function isSourceDown(status: TokenSourceStatus): boolean {
  return status.state === 'failing' || (status.state === 'waiting' && status.consecutiveFailures > 0);
}
