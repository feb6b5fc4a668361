/**
 * Callers of one instance waiting for another instance's fetch of a key, woken by its pub/sub message (or a
 * poll, since a message can be lost), and the message format itself.
 */

/**
 * What one pub/sub message says: `set` a new token, `del` a token (by fingerprint; none = any), `rel` a lock,
 * `fail` a lock released because its holder's fetch failed (no error text: it could carry a secret).
 */
export interface StoreMessage {
  o: 'set' | 'del' | 'rel' | 'fail';
  k: string;
  f?: string;
  /** The instance that sent it. */
  i: string;
}

export function encodeMessage(o: StoreMessage['o'], k: string, i: string, f?: string): string {
  const message: StoreMessage = { o, k, i, ...(f ? { f } : {}) };
  return JSON.stringify(message);
}

/** The message, or undefined when it is not one of ours. */
export function parseMessage(raw: string): StoreMessage | undefined {
  try {
    const message = JSON.parse(raw) as StoreMessage;
    return typeof message?.k === 'string' && typeof message.o === 'string' ? message : undefined;
  } catch {
    return undefined;
  }
}

/** Waiters look at Redis this often even if no pub/sub message came (a lost message must not stall them). */
export const POLL_INTERVAL_MS = 100;

export class KeyWaiters {
  /** Callers waiting for another instance's fetch, by key; woken with true when it failed. */
  private readonly waiters = new Map<string, Set<(failed: boolean) => void>>();
  /**
   * Callers that saw another instance holding the lock, by key, for their whole wait: a failure notice that
   * arrives while one is between two polls (reading Redis, not listening) still reaches it.
   */
  private readonly watchers = new Map<string, Set<{ failed: boolean }>>();

  /**
   * Resolves on a message for the key (true when it says the holder's fetch failed), after the poll
   * interval, or on abort; `cancel` stops waiting.
   */
  waitFor(key: string, signal?: AbortSignal): { promise: Promise<boolean>; cancel: () => void } {
    let wake!: (failed: boolean) => void;
    const promise = new Promise<boolean>((resolve) => (wake = resolve));
    const resume = () => wake(false);
    let set = this.waiters.get(key);
    if (set === undefined) this.waiters.set(key, (set = new Set()));
    set.add(wake);
    const timer = setTimeout(resume, POLL_INTERVAL_MS);
    timer.unref();
    signal?.addEventListener('abort', resume, { once: true });
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', resume);
      const current = this.waiters.get(key);
      if (current !== undefined) {
        current.delete(wake);
        if (current.size === 0) this.waiters.delete(key);
      }
    };
    void promise.then(done);
    return { promise, cancel: resume };
  }

  watch(key: string): { failed: boolean } {
    const watch = { failed: false };
    let set = this.watchers.get(key);
    if (set === undefined) this.watchers.set(key, (set = new Set()));
    set.add(watch);
    return watch;
  }

  unwatch(key: string, watch: { failed: boolean }): void {
    const set = this.watchers.get(key);
    if (set === undefined) return;
    set.delete(watch);
    if (set.size === 0) this.watchers.delete(key);
  }

  /** The lock holder's fetch for the key failed: everyone waiting for it gives up now. */
  peerFailed(key: string): void {
    for (const watch of this.watchers.get(key) ?? []) watch.failed = true;
    this.wake(key, true);
  }

  wake(key: string, failed = false): void {
    const set = this.waiters.get(key);
    if (set === undefined) return;
    this.waiters.delete(key);
    for (const wake of set) wake(failed);
  }

  wakeAll(): void {
    for (const key of [...this.waiters.keys()]) this.wake(key);
  }
}
