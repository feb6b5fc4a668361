/**
 * One refresh token for a whole fleet (a plain-string `refreshToken` with a shared store): the rules that keep
 * every instance from ever sending a refresh token another one already spent (RFC 9700 §4.14.2: a rotating
 * IdP with reuse detection then revokes the whole grant), even when the store fails.
 *
 * - Spent only under the store's fleet-wide lock. No lock (the store is unreachable or stalls): nothing is
 *   sent, the fetch fails with a `TokenFetchError` saying so, and the cache keeps serving the token it holds.
 * - The shared value carries a generation (one more per rotation), so the newest refresh token always wins,
 *   whatever order instances write in, and an instance whose write was lost puts its newer one back.
 * - Before spending, the holder marks the value as being spent. An instance that finds a marked value (the
 *   holder spent it but could not share the new one: the store failed in between) does not spend it; neither
 *   does one that finds the value gone after having seen it (the store restarted empty or failed over): it puts
 *   back the one it holds and waits for the others to put back theirs. After `settleMs` without news, the other
 *   instance is taken for gone and the newest value the store holds is spent.
 * - A live instance re-shares what the store missed, and offers what it holds after a loss, every
 *   `settleMs / 6` (a read under the lock; a write only when the store's value is older).
 * - The value is sealed (AES-256-GCM, a key derived from the configured refresh token): the store never holds it
 *   readable, and a value sealed for another family can't be opened.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { TokenFetchError } from '../token-cache.errors.js';
import type { SharedSecretSlot, TokenStore } from '../token-store.interface.js';
import { sourceMessages } from './token-sources.messages.js';

/** How many spent refresh tokens are kept (for redaction: a server may echo an old one). */
const SPENT_KEPT = 5;

/** What the shared value holds once opened. */
interface SharedValue {
  /** The refresh token. */
  rt: string;
  /** Its generation: 0 for the configured one, one more per rotation. */
  g: number;
  /** Set while an instance spends it: the replacement may exist only in that instance. */
  s?: 1;
  /** Put back after the store lost the value: the newest of the instances' copies is still being gathered. */
  r?: 1;
  /** The instance that wrote it. */
  o: string;
}

export type SharedStore = Required<Pick<TokenStore, 'exclusive'>>;

export interface SharedRefreshTokenOptions {
  /** How long a spend may hold the fleet-wide lock (the source's fetch timeout), ms. */
  timeoutMs: number;
}

export class SharedRefreshToken {
  /** The lock's (and the shared value's) name: a digest of the configured refresh token, never the token. */
  readonly name: string;
  private current: string;
  private generation = 0;
  private readonly spent: string[] = [];
  private readonly key: Buffer;
  private readonly instance = randomBytes(8).toString('hex');
  /** This instance has seen (or written) the family's shared value: its absence now means the store lost it. */
  private knownShared = false;
  /** The store missed this instance's newest value (its write failed): re-shared on the next sync. */
  private unshared = false;
  /** An unsettled shared value seen here, and since when (this instance's clock). */
  private unsettled?: { kind: string; since: number };
  private syncTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    configured: string,
    private readonly options: SharedRefreshTokenOptions,
  ) {
    this.current = configured;
    this.name = `refresh-token:${digestOf(configured)}`;
    this.key = Buffer.from(hkdfSync('sha256', configured, Buffer.alloc(0), 'nestjs-token-cache shared refresh token', 32));
  }

  /** The current and recently spent refresh tokens (for redaction). */
  secrets(): string[] {
    return [this.current, ...this.spent];
  }

  /** The refresh token this instance would spend next (no store: the only copy). */
  get token(): string {
    return this.current;
  }

  /** Without a shared store: the rotated token replaces the current one. */
  rotateLocally(next: string): void {
    this.replace(next, this.generation + 1);
  }

  /**
   * Spends the family's newest refresh token under the fleet-wide lock: `spend` gets it, returns its result
   * and the rotated refresh token (if any), which is shared before the lock is released; `rotated` runs then.
   */
  async spendShared<T>(
    store: SharedStore,
    source: string,
    now: () => number,
    signal: AbortSignal,
    spend: (refreshToken: string, spent: string[]) => Promise<{ result: T; next?: string }>,
    rotated: (next: string) => Promise<void>,
  ): Promise<T> {
    let ran = false;
    try {
      return await store.exclusive(
        this.name,
        async (slot) => {
          ran = true;
          this.keepSynced(store, now, slot.settleMs);
          await this.sync(slot, now(), source);
          // Marked before anything is sent: if the new token then can't be shared, no one spends this one.
          if (!(await this.put(slot, { s: 1 }))) throw refreshLockError(source);
          this.knownShared = true;
          let outcome: { result: T; next?: string };
          try {
            outcome = await spend(this.current, [...this.spent]);
          } catch (error) {
            // Refused, or no answer: the token was not rotated (or the grant is lost whatever we do). Unmark it.
            this.unshared = !(await this.put(slot, {}));
            throw error;
          }
          const { result, next } = outcome;
          const rotatedNow = next !== undefined && next !== '' && next !== this.current;
          if (rotatedNow) this.replace(next, this.generation + 1);
          // Shared before the lock is released; if the store failed, re-shared as soon as it answers.
          this.unshared = !(await this.put(slot, {}));
          if (rotatedNow) await rotated(next);
          return result;
        },
        { timeoutMs: this.options.timeoutMs, signal },
      );
    } catch (error) {
      // The lock itself could not be had: say what this means for the refresh token.
      if (!ran && !signal.aborted && error instanceof TokenFetchError) throw refreshLockError(source, error);
      throw error;
    }
  }

  close(): void {
    this.closed = true;
    if (this.syncTimer !== undefined) clearInterval(this.syncTimer);
    this.syncTimer = undefined;
  }

  /**
   * Brings this instance and the store to the newest value: takes a newer one, writes ours when the store's is
   * older or missing. Throws a `TokenFetchError` while the value is unsettled (see the file comment).
   */
  private async sync(slot: SharedSecretSlot, now: number, source: string): Promise<void> {
    const raw = await slot.read().catch((error: unknown) => {
      throw error instanceof TokenFetchError ? refreshLockError(source, error) : error;
    });
    const shared = this.open(raw);
    if (shared === undefined) {
      if (raw === undefined && this.knownShared && !this.unshared) {
        // The store lost it: ours may be stale. Offer it, and wait for the others to offer theirs.
        if (!(await this.put(slot, { r: 1 }))) throw refreshLockError(source);
        return this.unsettledFor('restored', now, slot.settleMs, source);
      }
      // First use of the family (or a value sealed for another one): ours is the value.
      if (!(await this.put(slot, {}))) throw refreshLockError(source);
      this.unshared = false;
      this.unsettled = undefined;
      return;
    }
    this.knownShared = true;
    if (shared.g > this.generation || (shared.g === this.generation && shared.rt !== this.current && !this.spent.includes(shared.rt))) {
      this.replace(shared.rt, shared.g);
      this.unshared = false;
    } else if (shared.g < this.generation || this.unshared) {
      // Ours is newer: the store missed our write (an outage, a restart, a failover). Put it back.
      if (!(await this.put(slot, shared.r ? { r: 1 } : {}))) throw refreshLockError(source);
      this.unshared = false;
      if (shared.r) return this.unsettledFor('restored', now, slot.settleMs, source);
      this.unsettled = undefined;
      return;
    }
    if (shared.s && shared.o !== this.instance) return this.unsettledFor(`spending:${shared.g}`, now, slot.settleMs, source);
    if (shared.r) return this.unsettledFor('restored', now, slot.settleMs, source);
    this.unsettled = undefined;
  }

  /** Throws until the same unsettled state has lasted `settleMs` here; then the other instance is taken for gone. */
  private unsettledFor(kind: string, now: number, settleMs: number, source: string): void {
    if (this.unsettled?.kind !== kind) this.unsettled = { kind, since: now };
    if (now - this.unsettled.since < settleMs) {
      throw new TokenFetchError(sourceMessages.refreshTokenUnsettled(source, kind === 'restored', Math.ceil(settleMs / 1_000)), { source, retryable: true });
    }
    this.unsettled = undefined;
  }

  /**
   * Every `settleMs / 6`, under the lock: re-share what the store missed, offer ours after a loss, take a newer
   * one. Started on the first shared spend; unref'd, stopped by close().
   */
  private keepSynced(store: SharedStore, now: () => number, settleMs: number): void {
    if (this.syncTimer !== undefined || this.closed) return;
    let running = false;
    const tick = () => {
      if (running || this.closed) return;
      running = true;
      void store
        .exclusive(this.name, (slot) => this.sync(slot, now(), '').catch(() => undefined), { timeoutMs: this.options.timeoutMs })
        .catch(() => undefined)
        .finally(() => (running = false));
    };
    this.syncTimer = setInterval(tick, Math.max(100, Math.floor(settleMs / 6)));
    this.syncTimer.unref();
  }

  private put(slot: SharedSecretSlot, flags: Pick<SharedValue, 's' | 'r'>): Promise<boolean> {
    const value: SharedValue = { rt: this.current, g: this.generation, o: this.instance, ...flags };
    return slot.write(this.seal(JSON.stringify(value)));
  }

  private replace(next: string, generation: number): void {
    if (next !== this.current) {
      this.spent.unshift(this.current);
      this.spent.length = Math.min(this.spent.length, SPENT_KEPT);
      this.current = next;
    }
    this.generation = generation;
  }

  private seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  /** The shared value, or undefined when there is none or it was sealed for another family (or tampered with). */
  private open(value: string | undefined): SharedValue | undefined {
    if (value === undefined) return undefined;
    let plain: string;
    try {
      const bytes = Buffer.from(value, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', this.key, bytes.subarray(0, 12));
      decipher.setAuthTag(bytes.subarray(12, 28));
      plain = Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
    try {
      const parsed = JSON.parse(plain) as SharedValue;
      if (typeof parsed?.rt === 'string' && parsed.rt !== '' && Number.isSafeInteger(parsed.g)) return parsed;
    } catch {
      // Written by a build before generations (the bare refresh token): the family's newest as far as it knew.
      if (plain !== '') return { rt: plain, g: 0, o: '' };
    }
    return undefined;
  }
}

/** The store failed under us (`cause` absent), or its lock could not be had (`cause`: the store's error, no secret in it). */
export function refreshLockError(source: string, cause?: TokenFetchError): TokenFetchError {
  const detail = cause?.message ?? 'the shared token store stopped answering';
  return new TokenFetchError(sourceMessages.refreshTokenLockUnavailable(source, detail), { source, retryable: true, ...(cause !== undefined && { cause }) });
}

/** 128 bits of SHA-256: names a refresh token's lock without holding the token. */
export function digestOf(refreshToken: string): string {
  return createHash('sha256').update(refreshToken).digest().subarray(0, 16).toString('base64url');
}
