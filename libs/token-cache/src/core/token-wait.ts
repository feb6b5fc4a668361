/**
 * A token wait the request can end: the HTTP clients race their wait for a token (before the first attempt,
 * and the renewal before a retry) against the request's abort signal, cancel token or deadline, as the HTTP
 * library itself would for the request. Ending a wait rejects that caller only: the token fetch goes on for
 * everyone else who waits on it and lands in the cache. Knows nothing of axios or fetch.
 */

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
