/**
 * The cross-instance fetch lock: one instance fetches a key while the others wait. The protocol:
 * - a lock is `SET lock <owner> PX ttl` by a script that first checks the token did not change meanwhile;
 *   the owner is a random id, so only its holder renews, releases or marks it failed;
 * - the holder renews it every ttl/3 while its fetch runs, so a slow fetch keeps it and a dead holder's
 *   lock is gone within `lockTtlMs`;
 * - an acquire whose reply came too late (Redis paused or stalled) was given up on by its caller, which
 *   fetched on its own: if Redis then ran it and the lock was taken, it is released at once (release or
 *   ignore), so nobody waits on a lock nobody holds.
 */
import { randomBytes } from 'node:crypto';
import { FAILED, type RedisLink } from './redis-connection.js';
import { scripts } from './redis-token-store.scripts.js';

/** `changed`: the token changed since it was read (look again); `held`: another instance fetches; `peer-failed`: the fetch waited for failed. */
export type LockOutcome = 'changed' | 'taken' | 'held' | 'peer-failed' | 'unavailable';

const OUTCOMES: Record<number, LockOutcome> = { 0: 'changed', 1: 'taken', 2: 'held', 3: 'peer-failed' };

/** How long a failed fetch's lock stays marked failed: a few polls, so that every waiter sees it. */
export const FAIL_MARKER_TTL_MS = 1_000;
/** Default `lockTtlMs`: a dead holder's lock blocks the others at most this long (renewed while fetching). */
export const DEFAULT_LOCK_TTL_MS = 10_000;

/** A fresh 128-bit owner id. */
export function newLockOwner(): string {
  return randomBytes(16).toString('hex');
}

/** How often a holder renews: three times per TTL, so one late renewal (a Redis pause) does not lose the lock. */
export function renewIntervalMs(lockTtlMs: number): number {
  return Math.max(1, Math.floor(lockTtlMs / 3));
}

/**
 * When a waiter stops waiting for another instance and fetches on its own: a live holder is done within the
 * fetch timeout; a dead one's lock expires within lockTtlMs of its last renewal. Only a holder that keeps
 * renewing past its own timeout (which the cache's timeout forbids) reaches this bound.
 */
export function waitDeadline(startedAt: number, timeoutMs: number, lockTtlMs: number): number {
  return startedAt + timeoutMs + lockTtlMs;
}

export class FetchLocks {
  constructor(
    private readonly link: Pick<RedisLink, 'eval'>,
    private readonly channel: string,
    readonly ttlMs: number,
  ) {}

  /**
   * Takes `lockKey` for `owner` unless the token under `tokenKey` no longer has `fingerprint` ('' = none).
   * `waited`: the caller was waiting for another holder (a failure marker then means that fetch failed).
   */
  async acquire(tokenKey: string, lockKey: string, fingerprint: string, owner: string, waited: boolean): Promise<LockOutcome> {
    const reply = await this.link.eval(scripts.acquireLock, [tokenKey, lockKey], [fingerprint, owner, this.ttlMs, waited ? '1' : '0'], {
      // The caller gave up on this reply and fetched for itself: a lock taken by it now would strand everyone.
      onLate: (late) => {
        if (late === 1) void this.release(lockKey, owner, '');
      },
    });
    return reply === FAILED ? 'unavailable' : (OUTCOMES[reply as number] ?? 'unavailable');
  }

  /** Keeps `owner`'s lock alive while its fetch runs; stops when the returned function is called or the lock is lost. */
  hold(lockKey: string, owner: string): () => void {
    let stopped = false;
    const timer = setInterval(() => {
      void this.link.eval(scripts.renewLock, [lockKey], [owner, this.ttlMs]).then((renewed) => {
        // 0: the lock expired and may be another instance's now; never take it back.
        if (renewed === 0) stop();
      });
    }, renewIntervalMs(this.ttlMs));
    timer.unref();
    const stop = () => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
    };
    return stop;
  }

  /** Releases the lock if `owner` still holds it, publishing `message` ('' = publish nothing). */
  release(lockKey: string, owner: string, message: string): Promise<unknown> {
    return this.link.eval(scripts.releaseLock, [lockKey], [owner, message === '' ? '' : this.channel, message]);
  }

  /** The holder's fetch failed: marks the lock failed for a moment and tells the waiters. */
  fail(lockKey: string, owner: string, message: string): Promise<unknown> {
    return this.link.eval(scripts.failLock, [lockKey], [owner, FAIL_MARKER_TTL_MS, this.channel, message]);
  }
}
