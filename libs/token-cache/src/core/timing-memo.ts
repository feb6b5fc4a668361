/** A token's timing (token-timing.ts) computed once per token and options, kept on the token out of sight. */
import type { TokenEntryState } from './token-cache.types.js';
import type { StoredToken } from './token-store.interface.js';
import { tokenPhase, tokenTiming, type TimingOptions, type TokenTiming } from './token-timing.js';

const TIMING = Symbol('timing');

type Memoized = StoredToken & { [TIMING]?: { options: TimingOptions; timing: TokenTiming } };

/**
 * The token's timing under `options`, memoized on the token: a cache passes the same options object every
 * time, so a warm read costs one property load. Another options object (another cache sharing the token)
 * recomputes.
 */
export function memoTiming(token: StoredToken, options: TimingOptions): TokenTiming {
  const memo = (token as Memoized)[TIMING];
  if (memo !== undefined && memo.options === options) return memo.timing;
  const timing = tokenTiming(token, options);
  // Not enumerable: never serialized or copied with the token.
  Object.defineProperty(token, TIMING, { value: { options, timing }, configurable: true });
  return timing;
}

/** The state `entries()` shows at `now`: fresh, refresh-due, or expired (anything past the skew). */
export function entryStateOf(timing: TokenTiming, now: number): TokenEntryState {
  const phase = tokenPhase(timing, now);
  return phase === 'fresh' || phase === 'refresh-due' ? phase : 'expired';
}
