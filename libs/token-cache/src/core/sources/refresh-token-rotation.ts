/**
 * The rules that keep a refresh token from being spent twice (RFC 9700 §4.14.2: a rotating IdP with reuse
 * detection revokes the whole grant when a spent refresh token comes back), apart from the wire work:
 * - refreshes that would spend the same refresh token run one after the other in this process, and, with a
 *   shared store (`context.shared`), under a fleet-wide lock across instances;
 * - with a plain-string `refreshToken` and a shared store, the rotated refresh token is shared through the
 *   store (`shared-refresh-token.ts`: sealed, versioned, never spent without the lock nor while another
 *   instance may hold a newer one);
 * - with a shared store, nothing is spent without the fleet-wide lock: when it can't be taken (the store is
 *   unreachable or stalls) the fetch fails with a `TokenFetchError` and the cache keeps serving its token;
 * - with a function `refreshToken` (one per user, kept in the app's own database), the function is asked
 *   again after every wait, so a refresh that waited for another spends the token that one stored.
 */
import { describeError, redact, TokenFetchError } from '../token-cache.errors.js';
import type { TokenCacheLogger, TokenRequest } from '../token-cache.types.js';
import { digestOf, refreshLockError, SharedRefreshToken } from './shared-refresh-token.js';
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
  /** Where a failing `onRotated` is reported; unset: the cache's logger, else `console`. */
  logger?: Pick<TokenCacheLogger, 'warn'>;
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
  /** Plain-string form: the family's refresh token, shared with the other instances through a shared store. */
  private readonly family?: SharedRefreshToken;
  /** Refresh tokens a function returned, most recent last, for redaction. */
  private readonly seen = new Set<string>();
  /**
   * Function form: refresh tokens this process spent, and what replaced them. When the app's store still returns
   * a spent one (its `onRotated` failed, or has not been read back yet), the replacement is spent instead.
   */
  private readonly successors = new Map<string, string>();
  /** Per refresh token, the tail of its queue: a spend starts when the one before it has settled. */
  private readonly queues = new Map<string, Promise<unknown>>();
  constructor(private readonly options: RefreshTokenRotationOptions) {
    if (typeof options.refreshToken === 'string') this.family = new SharedRefreshToken(options.refreshToken, { timeoutMs: options.timeoutMs });
  }

  /** Every refresh token this source knows (current, spent, recently given by the function): redacted everywhere. */
  secrets(): string[] {
    return [...(this.family?.secrets() ?? []), ...this.seen];
  }

  /** Stops the family's background sync with the shared store. */
  close(): void {
    this.family?.close();
  }

  /**
   * Runs `spend` with the refresh token to use now, never overlapping another spend of that token here, nor
   * (with `context.shared`) in another instance. A rotated token is kept, shared, and handed to
   * `onRotated(next, request)` before the next spend of the family may start.
   */
  async run<T>(request: TokenRequest, context: TokenFetchContext, spend: (refreshToken: string, spent: string[]) => Promise<Spent<T>>): Promise<T> {
    const family = this.family;
    if (family !== undefined) {
      const shared = context.shared;
      return this.serialized(family.name, () =>
        shared === undefined
          ? this.spendLocal(family, request, spend, context.logger)
          : family.spendShared(shared, request.source, () => context.clock.now(), context.signal, spend, (next) => this.notify(next, request, context.logger)),
      );
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
        this.fleetWide(`refresh-token:${digestOf(refreshToken)}`, request, context, async () => {
          // Another instance spent it while we waited for the lock, and gave the app the new one.
          if (context.shared !== undefined && recheck && (await this.read(request)) !== refreshToken) return STALE;
          return { result: await this.spendOnce(refreshToken, request, spend, context.logger) };
        }),
      );
      if (outcome !== STALE) return outcome.result;
    }
  }

  /**
   * Runs `task` under the fleet-wide lock `name` when the cache's store is shared, else as is. No lock, no
   * spend: the store's error becomes one that names the source and says nothing was sent.
   */
  private async fleetWide<R>(name: string, request: TokenRequest, context: TokenFetchContext, task: () => Promise<R>): Promise<R> {
    if (context.shared === undefined) return task();
    let ran = false;
    try {
      return await context.shared.exclusive(name, () => ((ran = true), task()), { timeoutMs: this.options.timeoutMs, signal: context.signal });
    } catch (error) {
      if (!ran && !context.signal.aborted && error instanceof TokenFetchError) throw refreshLockError(request.source, error);
      throw error;
    }
  }

  /** Plain-string form without a shared store: this process holds the only copy. */
  private async spendLocal<T>(family: SharedRefreshToken, request: TokenRequest, spend: (rt: string, spent: string[]) => Promise<Spent<T>>, logger?: Pick<TokenCacheLogger, 'warn'>): Promise<T> {
    const current = family.token;
    const { result, next } = await spend(current, family.secrets().slice(1));
    if (next !== undefined && next !== '' && next !== current) {
      family.rotateLocally(next);
      await this.notify(next, request, logger);
    }
    return result;
  }

  /** Function form: one spend of `refreshToken`; the app learns the rotated one before anyone re-reads. */
  private async spendOnce<T>(refreshToken: string, request: TokenRequest, spend: (rt: string, spent: string[]) => Promise<Spent<T>>, logger?: Pick<TokenCacheLogger, 'warn'>): Promise<T> {
    const { result, next } = await spend(refreshToken, []);
    if (next !== undefined && next !== '' && next !== refreshToken) {
      this.remember(next);
      this.successors.set(refreshToken, next);
      if (this.successors.size > SEEN_TOKENS_REDACTED) this.successors.delete(this.successors.keys().next().value!);
      await this.notify(next, request, logger);
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

  /**
   * Calls `onRotated`; a failure is logged (without any token) through the source's `logger`, else the cache's
   * (`cacheLogger`), else `console`, and the fetch still succeeds.
   */
  private async notify(next: string, request: TokenRequest, cacheLogger?: Pick<TokenCacheLogger, 'warn'>): Promise<void> {
    if (this.options.onRotated === undefined) return;
    try {
      await this.options.onRotated(next, request);
    } catch (error) {
      const { name, message } = describeError(error);
      (this.options.logger ?? cacheLogger ?? console).warn(sourceMessages.rotationCallbackFailed(request.source, redact(`${name}: ${message}`, this.secrets())));
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
}

const STALE = Symbol('stale');
