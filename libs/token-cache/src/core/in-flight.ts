/**
 * The fetches in flight, one per key (concurrent callers of a key share it), and which of them callers wait on
 * (no usable token: a miss), with since when: `sourceStatus` shows such a source as `waiting`.
 */
import type { StoredToken } from './token-store.interface.js';

export class InFlight {
  private readonly byKey = new Map<string, Promise<StoredToken>>();
  private readonly waiting = new Map<string, { source: string; since: number }>();

  get size(): number {
    return this.byKey.size;
  }

  get(key: string): Promise<StoredToken> | undefined {
    return this.byKey.get(key);
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** Makes `promise` the key's fetch until it settles (unless another replaced it meanwhile). */
  track(key: string, promise: Promise<StoredToken>): Promise<StoredToken> {
    this.byKey.set(key, promise);
    const done = () => {
      if (this.byKey.get(key) === promise) this.byKey.delete(key);
    };
    promise.then(done, done);
    return promise;
  }

  /** Forgets the fetches of the keys `affected` picks: later callers start their own (after a clear). */
  forgetWhere(affected: (key: string) => boolean): void {
    for (const key of [...this.byKey.keys()]) if (affected(key)) this.byKey.delete(key);
  }

  /** Notes that callers of `source` wait on this fetch of `key` since `since` (epoch ms), until it settles. */
  awaited(key: string, source: string, since: number, promise: Promise<StoredToken>): Promise<StoredToken> {
    const wait = { source, since };
    this.waiting.set(key, wait);
    const done = () => {
      if (this.waiting.get(key) === wait) this.waiting.delete(key);
    };
    promise.then(done, done);
    return promise;
  }

  /** Since when (epoch ms) callers of `source` have waited on a fetch (the oldest such fetch), if any do. */
  waitingSince(source: string): number | undefined {
    let since: number | undefined;
    for (const wait of this.waiting.values()) {
      if (wait.source === source && (since === undefined || wait.since < since)) since = wait.since;
    }
    return since;
  }
}
