import { afterEach, describe, expect, it, vi } from 'vitest';
import { abortReason, afterMs, endableWait, onAbort, paced, RELEASED_PER_TURN } from './token-wait.js';
import { countingSignal } from '../../../../test/support/counting-signal.js';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
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

describe('paced: callers released by one token wait go on a batch per event-loop turn', () => {
  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

  it(`lets ${RELEASED_PER_TURN} callers of a turn go on at once and the others in the turns after, in order`, async () => {
    await nextTurn();
    const order: number[] = [];
    const results = Array.from({ length: RELEASED_PER_TURN * 3 }, (_, i) => paced(i));
    // The first batch: the values themselves, no promise, no wait.
    expect(results.slice(0, RELEASED_PER_TURN)).toEqual(Array.from({ length: RELEASED_PER_TURN }, (_, i) => i));
    expect(results.slice(RELEASED_PER_TURN).every((r) => r instanceof Promise)).toBe(true);
    results.forEach((r, i) => void Promise.resolve(r).then(() => i >= RELEASED_PER_TURN && order.push(i)));
    await Promise.resolve();
    await Promise.resolve();
    expect(order).toEqual([]);
    await nextTurn();
    expect(order).toEqual(Array.from({ length: RELEASED_PER_TURN }, (_, i) => RELEASED_PER_TURN + i));
    await nextTurn();
    expect(order).toHaveLength(RELEASED_PER_TURN * 2);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('holds a caller behind those already held, even in a new turn (first come, first served)', async () => {
    await nextTurn();
    const first = Array.from({ length: RELEASED_PER_TURN * 3 }, (_, i) => paced(i));
    await nextTurn();
    const late = paced('late');
    expect(late).toBeInstanceOf(Promise);
    const seen: unknown[] = [];
    for (const r of [...first, late]) void Promise.resolve(r).then((v) => seen.push(v));
    await nextTurn();
    await nextTurn();
    await nextTurn();
    expect(seen.at(-1)).toBe('late');
  });

  it('callers held when fake timers are installed are still released, without advancing any timer', async () => {
    await nextTurn();
    const results = Array.from({ length: RELEASED_PER_TURN * 4 }, (_, i) => paced(i));
    vi.useFakeTimers();
    try {
      // The turn's end already scheduled runs; the batches after it go on microtasks, not on fake timers.
      const all = await Promise.race([Promise.all(results), new Promise((resolve) => queueMicrotask(() => resolve('pending')))]);
      expect(all).toBe('pending');
      vi.useRealTimers();
      await nextTurn();
      vi.useFakeTimers();
      for (let k = 0; k < 50; k++) await Promise.resolve();
      expect(await Promise.all(results)).toEqual(Array.from({ length: RELEASED_PER_TURN * 4 }, (_, i) => i));
    } finally {
      vi.useRealTimers();
    }
  });

  it('is off when fake timers were installed before the library loaded (Jest enableGlobally, a setupFiles hook)', async () => {
    vi.useFakeTimers();
    try {
      vi.resetModules();
      const fresh = await import('./token-wait.js');
      const results = Array.from({ length: fresh.RELEASED_PER_TURN * 4 }, (_, i) => fresh.paced(i));
      expect(results).toEqual(Array.from({ length: fresh.RELEASED_PER_TURN * 4 }, (_, i) => i));
    } finally {
      vi.useRealTimers();
      vi.resetModules();
    }
  });

  it('is off under fake timers: every caller goes on at once, nothing waits on a timer nobody advances', async () => {
    vi.useFakeTimers();
    try {
      const results = Array.from({ length: RELEASED_PER_TURN * 4 }, (_, i) => paced(i));
      expect(results).toEqual(Array.from({ length: RELEASED_PER_TURN * 4 }, (_, i) => i));
    } finally {
      vi.useRealTimers();
    }
  });
});
