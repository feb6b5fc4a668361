/**
 * An abort signal that counts the listeners it holds (addEventListener/removeEventListener seen from outside):
 * the tests that check a long-lived signal keeps no listener per call.
 */
export function countingSignal(controller: AbortController = new AbortController()): { signal: AbortController['signal']; listeners: () => number } {
  const signal = controller.signal;
  let listeners = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((type: string, fn: () => void, opts?: { once?: boolean }) => {
    listeners++;
    add(type, fn, opts);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((type: string, fn: () => void) => {
    listeners--;
    remove(type, fn);
  }) as typeof signal.removeEventListener;
  return { signal, listeners: () => listeners };
}
