import type { Clock } from './token-cache.types.js';

// Captured at load, so that test frameworks that fake timers later can be detected (and never stall us).
const nativeDateNow = Date.now;
const nativeSetImmediate = typeof setImmediate === 'function' ? setImmediate : (undefined as unknown as typeof setImmediate);
// Fake timers installed before this module loaded (a fake Date.now is not native code; @sinonjs/fake-timers
// marks its functions with `clock`): then the clock is simply read on every call.
const canCoarsen =
  typeof nativeSetImmediate === 'function' &&
  /\[native code\]/.test(Function.prototype.toString.call(nativeDateNow)) &&
  !('clock' in (nativeSetImmediate as object)) &&
  !('clock' in (nativeDateNow as object));
/**
 * The real `setImmediate`, or undefined while it is faked (a test framework's fake timers, installed before or
 * after this module loaded) or absent (browsers): work scheduled with it then runs without it.
 */
export function realSetImmediate(): ((fn: () => void) => unknown) | undefined {
  if (typeof nativeSetImmediate !== 'function' || 'clock' in (nativeSetImmediate as object) || '_isMockFunction' in (nativeSetImmediate as object)) return undefined;
  return globalThis.setImmediate === nativeSetImmediate ? nativeSetImmediate : undefined;
}

/** Reads of the cached time allowed before the clock is read again, even within one turn. */
const MAX_USES_PER_READ = 1024;
let turnNow = 0;
let turnUses = 0;
let turnValid = false;
const endTurn = () => {
  turnValid = false;
};

/**
 * The wall clock read at most once per event-loop turn (and every 1,024 reads): reading it costs more than a
 * whole warm cache lookup on many VMs. Staleness is bounded by one turn, far below `expirySkewMs`. When
 * `Date.now` has been replaced (fake timers in tests), it is read on every call.
 */
export function coarseNow(): number {
  if (!canCoarsen || Date.now !== nativeDateNow) return Date.now();
  if (turnValid && ++turnUses < MAX_USES_PER_READ) return turnNow;
  turnNow = nativeDateNow();
  turnUses = 0;
  if (!turnValid) {
    turnValid = true;
    // Not unref'd: a pending ref'd immediate keeps the loop from blocking in its poll phase, so no I/O
    // callback can run after an idle wait with the time of the turn before it. It runs at once, so it
    // never holds a process open.
    nativeSetImmediate(endTurn);
  }
  return turnNow;
}

/** The real clock. Its timers are unref'd so that a pending fetch timeout never keeps a process alive. */
export const systemClock: Clock = {
  now: coarseNow,
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
