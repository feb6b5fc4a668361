import { afterEach, describe, expect, it, vi } from 'vitest';
import { FAILED, type RunOptions } from './redis-connection.js';
import { DEFAULT_LOCK_TTL_MS, FetchLocks, newLockOwner, renewIntervalMs, waitDeadline } from './redis-fetch-lock.js';
import { scripts, type LuaScript } from './redis-token-store.scripts.js';

/** A command link whose replies the test decides, recording every script call. */
function fakeLink(reply: (script: LuaScript, args: (string | number)[], options?: RunOptions) => unknown) {
  const calls: { script: LuaScript; keys: string[]; args: (string | number)[] }[] = [];
  const link = {
    eval: (script: LuaScript, keys: string[], args: (string | number)[], options?: RunOptions) => {
      calls.push({ script, keys, args });
      return Promise.resolve(reply(script, args, options));
    },
  };
  return { link, calls };
}

afterEach(() => vi.useRealTimers());

describe('lock protocol rules', () => {
  it('owner ids are 128 random bits', () => {
    const owners = new Set(Array.from({ length: 100 }, newLockOwner));
    expect(owners.size).toBe(100);
    for (const owner of owners) expect(owner).toMatch(/^[0-9a-f]{32}$/);
  });

  it('renews three times per TTL; the default TTL is at most 15 s', () => {
    expect(renewIntervalMs(9_000)).toBe(3_000);
    expect(renewIntervalMs(2)).toBe(1);
    expect(DEFAULT_LOCK_TTL_MS).toBeLessThanOrEqual(15_000);
  });

  it('a waiter gives up after the fetch timeout plus one lock TTL', () => {
    expect(waitDeadline(1_000, 10_000, 5_000)).toBe(16_000);
  });
});

describe('FetchLocks', () => {
  it('maps the acquire script replies, and FAILED to unavailable', async () => {
    for (const [reply, outcome] of [
      [0, 'changed'],
      [1, 'taken'],
      [2, 'held'],
      [3, 'peer-failed'],
      [FAILED, 'unavailable'],
    ] as const) {
      const { link } = fakeLink(() => reply);
      expect(await new FetchLocks(link, 'ch', 1_000).acquire('t', 'l', '', 'me', false)).toBe(outcome);
    }
  });

  it('an acquire answered after its caller gave up is released if it took the lock, ignored otherwise', async () => {
    let late: ((reply: unknown) => void) | undefined;
    const { link, calls } = fakeLink((script, _args, options) => {
      if (script === scripts.acquireLock) {
        late = options?.onLate;
        return FAILED; // timed out: the caller fetches on its own
      }
      return 1;
    });
    const locks = new FetchLocks(link, 'ch', 1_000);
    expect(await locks.acquire('t', 'l', '', 'owner-1', false)).toBe('unavailable');
    late!(2); // held by someone else: nothing of ours to undo
    expect(calls.filter((c) => c.script === scripts.releaseLock)).toEqual([]);
    late!(1); // Redis ran it after all: the lock is ours, nobody will use it
    const releases = calls.filter((c) => c.script === scripts.releaseLock);
    expect(releases).toEqual([{ script: scripts.releaseLock, keys: ['l'], args: ['owner-1', '', ''] }]);
  });

  it('a holder renews every ttl/3 while it holds the lock, and stops when told', async () => {
    vi.useFakeTimers();
    const { link, calls } = fakeLink(() => 1);
    const stop = new FetchLocks(link, 'ch', 900).hold('l', 'me');
    await vi.advanceTimersByTimeAsync(1_000);
    const renewals = calls.filter((c) => c.script === scripts.renewLock);
    expect(renewals).toHaveLength(3);
    expect(renewals[0]).toEqual({ script: scripts.renewLock, keys: ['l'], args: ['me', 900] });
    stop();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(calls.filter((c) => c.script === scripts.renewLock)).toHaveLength(3);
  });

  it('a holder whose lock is no longer its own stops renewing (never takes it back)', async () => {
    vi.useFakeTimers();
    const { link, calls } = fakeLink(() => 0);
    new FetchLocks(link, 'ch', 300).hold('l', 'me');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls.filter((c) => c.script === scripts.renewLock)).toHaveLength(1);
  });

  it('a renewal that fails (Redis unreachable) is tried again at the next interval', async () => {
    vi.useFakeTimers();
    const { link, calls } = fakeLink(() => FAILED);
    const stop = new FetchLocks(link, 'ch', 300).hold('l', 'me');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls.filter((c) => c.script === scripts.renewLock).length).toBeGreaterThanOrEqual(3);
    stop();
  });
});
