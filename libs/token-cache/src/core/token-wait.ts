/**
 * A token wait the request can end: the HTTP clients race their wait for a token (before the first attempt,
 * and the renewal before a retry) against the request's abort signal, cancel token or deadline, as the HTTP
 * library itself would for the request. Ending a wait rejects that caller only: the token fetch goes on for
 * everyone else who waits on it and lands in the cache. Knows nothing of axios or fetch.
 */

import { realSetImmediate } from './clock.js';

/**
 * Starts watching for something that ends a wait; calls `end(reason)` when it happens (also at once, when it
 * already has) and returns a function that stops watching (removes its listener, clears its timer).
 */
export type WaitEnd = (end: (reason: unknown) => void) => () => void;

const nothing = (): void => undefined;

/**
 * `pending`, unless one of `ends` comes first: then the returned promise rejects with that end's reason and
 * `pending` is left to run (its outcome is still observed, so a failure nobody waits for is not unhandled).
 * Every watcher is stopped as soon as either settles, so a long-lived signal keeps no listener per call.
 */
export function endableWait<T>(pending: Promise<T>, ends: readonly WaitEnd[]): Promise<T> {
  if (ends.length === 0) return pending;
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const stops: (() => void)[] = [];
    const stopAll = () => {
      for (const stop of stops.splice(0)) stop();
    };
    const settle = (finish: () => void) => {
      if (settled) return;
      settled = true;
      stopAll();
      finish();
    };
    for (const watch of ends) {
      stops.push(watch((reason) => settle(() => reject(reason))));
      // Ended while it was being set up (a signal already aborted): watch nothing more.
      if (settled) {
        stopAll();
        return;
      }
    }
    pending.then(
      (value) => settle(() => resolve(value)),
      (error: unknown) => settle(() => reject(error)),
    );
  });
}

/** Ends a wait when `signal` aborts (or has aborted), with `reason()` read at that moment. */
export function onAbort(signal: AbortSignal, reason: () => unknown): WaitEnd {
  return (end) => {
    if (signal.aborted) {
      end(reason());
      return nothing;
    }
    const listener = () => end(reason());
    signal.addEventListener('abort', listener, { once: true });
    return () => signal.removeEventListener('abort', listener);
  };
}

/** Ends a wait after `ms` milliseconds (at once when `ms` ≤ 0) with `reason()`. The timer does not hold the process open. */
export function afterMs(ms: number, reason: () => unknown): WaitEnd {
  return (end) => {
    if (ms <= 0) {
      end(reason());
      return nothing;
    }
    const timer = setTimeout(() => end(reason()), ms);
    (timer as { unref?: () => void }).unref?.();
    return () => clearTimeout(timer);
  };
}

/** The reason `fetch` rejects with for an aborted signal: the signal's own `reason`, an `AbortError` when it has none. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason !== undefined ? signal.reason : new DOMException('This operation was aborted', 'AbortError');
}

/** Callers a token wait releases per event-loop turn; the rest continue in the turns after. */
export const RELEASED_PER_TURN = 8;
let releasedThisTurn = 0;
let turnEndScheduled = false;
const held: (() => void)[] = [];

function endTurn(): void {
  turnEndScheduled = false;
  releasedThisTurn = 0;
  while (held.length > 0 && releasedThisTurn < RELEASED_PER_TURN) {
    releasedThisTurn++;
    held.shift()!();
  }
  if (held.length > 0 || releasedThisTurn > 0) scheduleTurnEnd();
}

function scheduleTurnEnd(): void {
  if (turnEndScheduled) return;
  turnEndScheduled = true;
  const later = realSetImmediate();
  if (later !== undefined) later(endTurn);
  else queueMicrotask(endTurn);
}

/**
 * `value` for a caller whose token wait just ended, paced: the first {@link RELEASED_PER_TURN} callers of an
 * event-loop turn go on at once, the others a batch per turn after it. A fetch that N callers waited on would
 * otherwise release all N in one synchronous run (each preparing and sending its request): with 200 callers
 * that blocks the event loop for hundreds of milliseconds, and every reply, the first caller's included, waits
 * until the last request has been prepared. Paced, the first requests are sent and their replies handled while
 * the later ones are still being released. Off under fake timers (installed before or after this module
 * loaded) and where there is no `setImmediate`; callers already held when timers get faked are released on
 * the next microtask.
 */
export function paced<T>(value: T): T | Promise<T> {
  if (realSetImmediate() === undefined) return value;
  if (held.length === 0 && releasedThisTurn < RELEASED_PER_TURN) {
    releasedThisTurn++;
    scheduleTurnEnd();
    return value;
  }
  return new Promise<T>((resolve) => {
    held.push(() => resolve(value));
    scheduleTurnEnd();
  });
}
