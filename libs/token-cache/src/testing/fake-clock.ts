/** A clock whose time moves only when the test says so; the cache's timers (timeouts, backoff) run then. */
import type { Clock } from '../core/index.js';

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

function assertMs(method: string, ms: unknown): asserts ms is number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new RangeError(`FakeClock.${method}: expected a finite number of milliseconds >= 0, got ${String(ms)}`);
  }
}

/**
 * A controllable `Clock` for `new TokenCache({ clock })` / `TokenCacheModule.forRoot({ clock })`.
 *
 * `now()` returns the fake time (epoch ms, default 2026-01-01T00:00:00Z); `advance(ms)` moves it forward and
 * runs, in order, every timer the cache set on this clock that falls due (fetch timeouts, backoff). Nothing
 * moves by itself, so expiry, refresh-ahead and backoff become exact and instant to test:
 *
 * ```ts
 * const clock = new FakeClock();
 * const cache = new TokenCache({ clock, sources: { api: staticToken('t', { expiresIn: 60 }) } });
 * await cache.getToken('api');
 * clock.advance(61_000);            // the token is now expired
 * ```
 *
 * Work the cache starts when time moves (a background refresh) settles on the promise queue: use
 * `await clock.advanceAsync(ms)` (or `await flush()` after `advance`) before asserting on it.
 */
export class FakeClock implements Clock {
  private current: number;
  private timers: Timer[] = [];
  private nextId = 1;

  /** @param start the initial time: epoch ms or a `Date`. Default 2026-01-01T00:00:00Z. */
  constructor(start: number | Date = Date.UTC(2026, 0, 1)) {
    const at = start instanceof Date ? start.getTime() : start;
    if (typeof at !== 'number' || !Number.isFinite(at)) throw new RangeError(`FakeClock: expected a start time in epoch ms or a Date, got ${String(start)}`);
    this.current = at;
  }

  /** The fake time, epoch ms. */
  now(): number {
    return this.current;
  }

  /** The fake time as a `Date`. */
  date(): Date {
    return new Date(this.current);
  }

  /** Part of `Clock`: runs `fn` once the fake time has moved `ms` forward. */
  setTimeout(fn: () => void, ms: number): unknown {
    const timer = { id: this.nextId++, at: this.current + Math.max(0, Number.isFinite(ms) ? ms : 0), fn };
    this.timers.push(timer);
    return timer.id;
  }

  /** Part of `Clock`: cancels a timer of `setTimeout`. */
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** How many timers are waiting. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms` (>= 0), running each timer that falls due, in order, at its own time. */
  advance(ms: number): void {
    assertMs('advance', ms);
    const target = this.current + ms;
    for (let due = this.nextDue(target); due !== undefined; due = this.nextDue(target)) this.run(due);
    this.current = target;
  }

  /**
   * Like `advance`, and lets the promise callbacks each timer starts run before the next one (and at the
   * end): what a background refresh or a retried fetch needs to finish.
   */
  async advanceAsync(ms: number): Promise<void> {
    assertMs('advanceAsync', ms);
    const target = this.current + ms;
    for (let due = this.nextDue(target); due !== undefined; due = this.nextDue(target)) {
      this.run(due);
      await flush();
    }
    this.current = target;
    await flush();
  }

  /** Sets the time to `time` (epoch ms or a `Date`), forward only, running the timers due by then. */
  set(time: number | Date): void {
    const at = time instanceof Date ? time.getTime() : time;
    if (typeof at !== 'number' || !Number.isFinite(at) || at < this.current) {
      throw new RangeError(`FakeClock.set: expected a time at or after ${new Date(this.current).toISOString()}, got ${String(time)}`);
    }
    this.advance(at - this.current);
  }

  private nextDue(target: number): Timer | undefined {
    let due: Timer | undefined;
    for (const t of this.timers) if (t.at <= target && (due === undefined || t.at < due.at || (t.at === due.at && t.id < due.id))) due = t;
    return due;
  }

  private run(timer: Timer): void {
    this.timers = this.timers.filter((t) => t !== timer);
    this.current = timer.at;
    timer.fn();
  }
}

/** Lets pending promise callbacks run (`turns` macrotask turns, default 3), without moving any clock. */
export async function flush(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
