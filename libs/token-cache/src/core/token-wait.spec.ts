import { afterEach, describe, expect, it, vi } from 'vitest';
import { abortReason, afterMs, endableWait, onAbort } from './token-wait.js';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Counts the abort listeners a signal holds (addEventListener/removeEventListener seen from outside). */
function countingSignal(controller: AbortController) {
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

afterEach(() => {
  vi.useRealTimers();
});

describe('endableWait', () => {
  it('is the pending promise itself when nothing can end it', () => {
    const pending = Promise.resolve(1);
    expect(endableWait(pending, [])).toBe(pending);
  });

  it('resolves and rejects with the pending promise when nothing ends it first', async () => {
    const ac = new AbortController();
    await expect(endableWait(Promise.resolve('t'), [onAbort(ac.signal, () => 'aborted')])).resolves.toBe('t');
    await expect(endableWait(Promise.reject(new Error('idp down')), [onAbort(ac.signal, () => 'aborted')])).rejects.toThrow('idp down');
  });

  it('rejects at once when the signal aborts, with the reason read then; the pending work goes on and its failure is observed', async () => {
    const ac = new AbortController();
    const pending = deferred<string>();
    const wait = endableWait(pending.promise, [onAbort(ac.signal, () => abortReason(ac.signal))]);
    const reason = new Error('caller gave up');
    ac.abort(reason);
    await expect(wait).rejects.toBe(reason);
    // No unhandledRejection: the wait observed the pending promise.
    pending.reject(new Error('late failure'));
    await expect(pending.promise).rejects.toThrow('late failure');
  });

  it('rejects without watching when the signal was aborted before', async () => {
    const ac = new AbortController();
    ac.abort();
    const { signal, listeners } = countingSignal(ac);
    const wait = endableWait(new Promise<string>(() => undefined), [onAbort(signal, () => abortReason(signal)), onAbort(signal, () => 'second')]);
    await expect(wait).rejects.toMatchObject({ name: 'AbortError' });
    expect(listeners()).toBe(0);
  });

  it('removes its listener when the wait settles: thousands of waits on one long-lived signal leave none', async () => {
    const ac = new AbortController();
    const { signal, listeners } = countingSignal(ac);
    for (let i = 0; i < 5000; i++) {
      expect(await endableWait(Promise.resolve(i), [onAbort(signal, () => 'x')])).toBe(i);
      expect(listeners()).toBe(0);
    }
    const failing = endableWait(Promise.reject(new Error('no')), [onAbort(signal, () => 'x')]);
    await expect(failing).rejects.toThrow('no');
    expect(listeners()).toBe(0);
  });

  it('stops every other watcher when one ends the wait (listener removed, timer cleared)', async () => {
    vi.useFakeTimers();
    const ac = new AbortController();
    const { signal, listeners } = countingSignal(ac);
    const wait = endableWait(new Promise<string>(() => undefined), [onAbort(signal, () => 'aborted'), afterMs(1000, () => 'timeout')]);
    expect(vi.getTimerCount()).toBe(1);
    ac.abort();
    await expect(wait).rejects.toBe('aborted');
    expect(vi.getTimerCount()).toBe(0);
    expect(listeners()).toBe(0);
  });

  it('afterMs ends the wait at its time, not before; ≤ 0 ends it at once', async () => {
    vi.useFakeTimers();
    let ended: unknown;
    const wait = endableWait(new Promise<string>(() => undefined), [afterMs(300, () => 'timeout')]).catch((e: unknown) => (ended = e));
    await vi.advanceTimersByTimeAsync(299);
    expect(ended).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    await wait;
    expect(ended).toBe('timeout');
    await expect(endableWait(new Promise(() => undefined), [afterMs(0, () => 'now')])).rejects.toBe('now');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('abortReason is the signal reason (a TimeoutError from AbortSignal.timeout), an AbortError DOMException by default', async () => {
    const plain = new AbortController();
    plain.abort();
    expect(abortReason(plain.signal)).toMatchObject({ name: 'AbortError' });
    expect(abortReason(plain.signal)).toBeInstanceOf(DOMException);
    const timed = AbortSignal.timeout(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(abortReason(timed)).toMatchObject({ name: 'TimeoutError' });
    expect(abortReason({ aborted: true, reason: undefined } as AbortSignal)).toMatchObject({ name: 'AbortError' });
  });
});
