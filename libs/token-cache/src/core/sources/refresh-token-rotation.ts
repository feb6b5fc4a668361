/**
 * The rules that keep a refresh token from being spent twice (RFC 9700 §4.14.2: a rotating IdP with reuse
 * detection revokes the whole grant when a spent refresh token comes back), apart from the wire work:
 * - refreshes that would spend the same refresh token run one after the other in this process, and, with a
 *   shared store (`context.shared`), under a fleet-wide lock across instances;
 * - with a plain-string `refreshToken` and a shared store, the rotated refresh token is shared through the
 *   store, sealed with a key derived from the configured refresh token (AES-256-GCM), so Redis never holds
 *   it readable (and the store's `encryptionKey` encrypts it once more);
 * - with a function `refreshToken` (one per user, kept in the app's own database), the function is asked
 *   again after every wait, so a refresh that waited for another spends the token that one stored.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { describeError, redact } from '../token-cache.errors.js';
import type { TokenCacheLogger, TokenRequest } from '../token-cache.types.js';
import type { SharedSecretSlot } from '../token-store.interface.js';
import type { TokenFetchContext } from './token-source.interface.js';
import { sourceMessages } from './token-sources.messages.js';

export type RefreshTokenOption = string | ((request: TokenRequest) => string | Promise<string>);
export type RefreshTokenRotatedCallback = (refreshToken: string, request: TokenRequest) => void | Promise<void>;

/** How many spent refresh tokens are still redacted from messages (a server may echo an old one). */
const SPENT_TOKENS_REDACTED = 5;
/** How many refresh tokens a function gave are remembered for redaction (a multi-user app has many). */
const SEEN_TOKENS_REDACTED = 1_000;
/** A function that keeps returning a token another refresh is spending is asked at most this often per fetch. */
const MAX_REREADS = 10;

export interface RefreshTokenRotationOptions {
  refreshToken: RefreshTokenOption;
  onRotated?: RefreshTokenRotatedCallback;
  logger: Pick<TokenCacheLogger, 'warn'>;
  /** How long a refresh may hold the fleet-wide lock (the source's fetch timeout). */
  timeoutMs: number;
  /** Checks a refresh token the function returned; throws a TokenCacheConfigError naming the option. */
  check: (refreshToken: unknown) => asserts refreshToken is string;
}

/** What one spend gives back: its result and the rotated refresh token, if the server sent one. */
export interface Spent<T> {
  result: T;
  next?: string;
}

export class RefreshTokenRotation {
  /** The refresh token to spend next (plain-string form). */
  private current?: string;
  private readonly spent: string[] = [];
  /** Refresh tokens a function returned, most recent last, for redaction. */
  private readonly seen = new Set<string>();
  /**
   * Function form: refresh tokens this process spent, and what replaced them. When the app's store still returns
   * a spent one (its `onRotated` failed, or has not been read back yet), the replacement is spent instead.
   */
  private readonly successors = new Map<string, string>();
  /** Per refresh token, the tail of its queue: a spend starts when the one before it has settled. */
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Names the fleet-wide lock and seals the shared value (plain-string form only). */
  private readonly family?: { name: string; key: Buffer };

  constructor(private readonly options: RefreshTokenRotationOptions) {
    if (typeof options.refreshToken === 'string') {
      this.current = options.refreshToken;
      this.family = {
        name: `refresh-token:${digestOf(options.refreshToken)}`,
        key: Buffer.from(hkdfSync('sha256', options.refreshToken, Buffer.alloc(0), 'nestjs-token-cache shared refresh token', 32)),
      };
    }
  }

  /** Every refresh token this source knows (current, spent, recently given by the function): redacted everywhere. */
  secrets(): string[] {
    return [...(this.current === undefined ? [] : [this.current]), ...this.spent, ...this.seen];
  }

  /**
   * Runs `spend` with the refresh token to use now, never overlapping another spend of that token here, nor
   * (with `context.shared`) in another instance. A rotated token is kept, shared, and handed to
   * `onRotated(next, request)` before the next spend of the family may start.
   */
  async run<T>(request: TokenRequest, context: TokenFetchContext, spend: (refreshToken: string, spent: string[]) => Promise<Spent<T>>): Promise<T> {
    if (this.family !== undefined) {
      const family = this.family;
      return this.serialized(family.name, () => this.fleetWide(family.name, context, (slot) => this.spendCurrent(request, spend, slot)));
    }
    for (let attempt = 0; ; attempt++) {
      const refreshToken = await this.read(request);
      const recheck = attempt < MAX_REREADS;
      const queued = this.queues.get(refreshToken);
      if (queued !== undefined && recheck) {
        // Another refresh here is spending this very token: wait for it, then ask the app again (it has rotated).
        await queued.catch(() => undefined);
        continue;
      }
      const outcome = await this.serialized(refreshToken, () =>
        this.fleetWide(`refresh-token:${digestOf(refreshToken)}`, context, async () => {
          // Another instance spent it while we waited for the lock, and gave the app the new one.
          if (context.shared !== undefined && recheck && (await this.read(request)) !== refreshToken) return STALE;
          return { result: await this.spendOnce(refreshToken, request, spend) };
        }),
      );
      if (outcome !== STALE) return outcome.result;
    }
  }

  /** Runs `task` under the fleet-wide lock `name` when the cache's store is shared, else as is. */
  private fleetWide<R>(name: string, context: TokenFetchContext, task: (slot?: SharedSecretSlot) => Promise<R>): Promise<R> {
    if (context.shared === undefined) return task();
    return context.shared.exclusive(name, task, { timeoutMs: this.options.timeoutMs, signal: context.signal });
  }

  /** Plain-string form: spends the family's newest token (ours, or the one another instance shared). */
  private async spendCurrent<T>(request: TokenRequest, spend: (rt: string, spent: string[]) => Promise<Spent<T>>, slot?: SharedSecretSlot): Promise<T> {
    const family = this.family!;
    if (slot !== undefined) {
      const shared = this.unseal(family.key, await slot.read());
      // A token we spent ourselves is older than ours (the store missed our write); any other one is newer.
      if (shared !== undefined && shared !== this.current && !this.spent.includes(shared)) this.replaceCurrent(shared);
    }
    const { result, next } = await spend(this.current!, [...this.spent]);
    if (next !== undefined && next !== '' && next !== this.current) {
      this.replaceCurrent(next);
      // Shared before the lock is released: the next instance to refresh must never see the spent one.
      if (slot !== undefined) await slot.write(this.seal(family.key, next));
      await this.notify(next, request);
    }
    return result;
  }

  /** Function form: one spend of `refreshToken`; the app learns the rotated one before anyone re-reads. */
  private async spendOnce<T>(refreshToken: string, request: TokenRequest, spend: (rt: string, spent: string[]) => Promise<Spent<T>>): Promise<T> {
    const { result, next } = await spend(refreshToken, []);
    if (next !== undefined && next !== '' && next !== refreshToken) {
      this.remember(next);
      this.successors.set(refreshToken, next);
      if (this.successors.size > SEEN_TOKENS_REDACTED) this.successors.delete(this.successors.keys().next().value!);
      await this.notify(next, request);
    }
    return result;
  }

  private async read(request: TokenRequest): Promise<string> {
    const refreshToken = await (this.options.refreshToken as (request: TokenRequest) => string | Promise<string>)(request);
    this.options.check(refreshToken);
    this.remember(refreshToken);
    let current = refreshToken;
    for (let hops = 0; this.successors.has(current) && hops < SPENT_TOKENS_REDACTED; hops++) current = this.successors.get(current)!;
    return current;
  }

  private remember(refreshToken: string): void {
    this.seen.delete(refreshToken);
    this.seen.add(refreshToken);
    if (this.seen.size > SEEN_TOKENS_REDACTED) this.seen.delete(this.seen.values().next().value!);
  }

  private replaceCurrent(next: string): void {
    if (this.current !== undefined) this.spent.unshift(this.current);
    this.spent.length = Math.min(this.spent.length, SPENT_TOKENS_REDACTED);
    this.current = next;
  }

  /** Calls `onRotated`; a failure is logged (without any token) and the fetch still succeeds. */
  private async notify(next: string, request: TokenRequest): Promise<void> {
    if (this.options.onRotated === undefined) return;
    try {
      await this.options.onRotated(next, request);
    } catch (error) {
      const { name, message } = describeError(error);
      this.options.logger.warn(sourceMessages.rotationCallbackFailed(request.source, redact(`${name}: ${message}`, this.secrets())));
    }
  }

  /** Runs `task` after every earlier task queued under `name` has settled. */
  private serialized<R>(name: string, task: () => Promise<R>): Promise<R> {
    const result = (this.queues.get(name) ?? Promise.resolve()).then(task);
    const tail = result.catch(() => undefined);
    this.queues.set(name, tail);
    void tail.then(() => {
      if (this.queues.get(name) === tail) this.queues.delete(name);
    });
    return result;
  }

  private seal(key: Buffer, refreshToken: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const body = Buffer.concat([cipher.update(refreshToken, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  private unseal(key: Buffer, value: string | undefined): string | undefined {
    if (value === undefined) return undefined;
    try {
      const bytes = Buffer.from(value, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
      decipher.setAuthTag(bytes.subarray(12, 28));
      return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      return undefined; // written for another refresh token family, or tampered with
    }
  }
}

const STALE = Symbol('stale');

/** 128 bits of SHA-256: names a refresh token's lock without holding the token. */
function digestOf(refreshToken: string): string {
  return createHash('sha256').update(refreshToken).digest().subarray(0, 16).toString('base64url');
}
