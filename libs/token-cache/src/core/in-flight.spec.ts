import { describe, expect, it } from 'vitest';
import { InFlight } from './in-flight.js';
import type { StoredToken } from './token-store.interface.js';

const token = { accessToken: 't', tokenType: 'Bearer', expiresAt: 1, receivedAt: 0, source: 's' } as StoredToken;

function deferred() {
  let resolve!: (t: StoredToken) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<StoredToken>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('InFlight', () => {
  it('one fetch per key until it settles, resolved or rejected', async () => {
    const inFlight = new InFlight();
    const a = deferred();
    const b = deferred();
    inFlight.track('a', a.promise);
    inFlight.track('b', b.promise).catch(() => undefined);
    expect(inFlight.get('a')).toBe(a.promise);
    expect(inFlight.size).toBe(2);
    a.resolve(token);
    b.reject(new Error('x'));
    await Promise.allSettled([a.promise, b.promise]);
    await Promise.resolve();
    expect(inFlight.has('a')).toBe(false);
    expect(inFlight.has('b')).toBe(false);
  });

  it('a fetch that replaced another stays when the old one settles', async () => {
    const inFlight = new InFlight();
    const old = deferred();
    const next = deferred();
    inFlight.track('k', old.promise);
    inFlight.forgetWhere((key) => key === 'k');
    expect(inFlight.has('k')).toBe(false);
    inFlight.track('k', next.promise);
    old.resolve(token);
    await old.promise;
    await Promise.resolve();
    expect(inFlight.get('k')).toBe(next.promise);
  });

  it('waitingSince: the oldest fetch callers of a source wait on, until it settles', async () => {
    const inFlight = new InFlight();
    const first = deferred();
    const second = deferred();
    inFlight.awaited('s|1', 's', 100, first.promise);
    inFlight.awaited('s|2', 's', 200, second.promise).catch(() => undefined);
    inFlight.awaited('other', 'o', 50, new Promise(() => undefined));
    expect(inFlight.waitingSince('s')).toBe(100);
    first.resolve(token);
    await first.promise;
    await Promise.resolve();
    expect(inFlight.waitingSince('s')).toBe(200);
    second.reject(new Error('x'));
    await second.promise.catch(() => undefined);
    await Promise.resolve();
    expect(inFlight.waitingSince('s')).toBeUndefined();
    expect(inFlight.waitingSince('o')).toBe(50);
  });
});
