import type { Clock } from './token-cache.types.js';

/** The real clock. Its timers are unref'd so that a pending fetch timeout never keeps a process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Runs `fn` after `ms` on `clock`'s timers (falling back to the real ones); returns a cancel function. */
export function startTimer(clock: Clock, fn: () => void, ms: number): () => void {
  if (clock.setTimeout) {
    const handle = clock.setTimeout(fn, ms);
    return () => (clock.clearTimeout ? clock.clearTimeout(handle) : clearTimeout(handle as NodeJS.Timeout));
  }
  const handle = setTimeout(fn, ms).unref();
  return () => clearTimeout(handle);
}
