/**
 * A token store shared by many app instances through Redis, with a bounded in-memory tier in front so that
 * a warm `getToken` never leaves the process. Redis trouble never fails a call: the store then works from
 * its memory tier and fetches locally until ioredis has reconnected.
 */
import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { MemoryTokenStore } from '../core/memory-token-store.js';
import { TokenCacheConfigError, TokenFetchError } from '../core/token-cache.errors.js';
import type { SharedFetchOptions, StoredToken, TokenStore } from '../core/token-store.interface.js';
import { assertTimerMs } from '../core/validate.js';
import { fingerprintOfValue, parseEncryptionKey, RedisTokenCodec } from './redis-token-codec.js';
import { redisMessages } from './redis-token-store.messages.js';
import { scripts, type LuaScript } from './redis-token-store.scripts.js';

export interface RedisTokenStoreOptions {
  /**
   * An ioredis client you own. The store sends its commands on it and opens one duplicate of it for pub/sub;
   * `close()` closes that duplicate but never your client. Give either `client` or `url`.
   */
  client?: Redis;
  /** Where the store connects when no `client` is given; it closes these connections itself. Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** Every key and channel the store writes starts with it. Default `'token-cache:'`. */
  keyPrefix?: string;
  /**
   * 32 bytes (a Buffer, 64 hex characters or base64) to store tokens AES-256-GCM encrypted. Every instance
   * sharing the keys needs the same one; a value written with another key reads as a miss. Default: none (plain JSON).
   */
  encryptionKey?: string | Buffer;
  /** Most entries in this instance's memory tier; the least recently used is evicted. Default 10_000. */
  maxEntries?: number;
  /**
   * How long the cross-instance fetch lock lives, in ms: a holder that dies blocks the others no longer than
   * this. Default: the fetch timeout + 5_000 ms (15_000 ms with the cache's defaults).
   */
  lockTtlMs?: number;
}

/**
 * What one pub/sub message says: `set` a new token, `del` a token (by fingerprint; none = any), `rel` a lock,
 * `fail` a lock released because its holder's fetch failed (no error text: it could carry a secret).
 */
interface StoreMessage {
  o: 'set' | 'del' | 'rel' | 'fail';
  k: string;
  f?: string;
  /** The instance that sent it. */
  i: string;
}

const DEFAULT_URL = 'redis://127.0.0.1:6379';
const DEFAULT_PREFIX = 'token-cache:';
/** A Redis command that takes longer counts as failed: the caller falls back to memory and a local fetch. */
const COMMAND_TIMEOUT_MS = 1_000;
/** How long the first calls wait for the connections to open, so that a just-started instance shares too. */
const CONNECT_WAIT_MS = 2_000;
/** Waiters look at Redis this often even if no pub/sub message came (a lost message must not stall them). */
const POLL_INTERVAL_MS = 100;
const LOCK_MARGIN_MS = 5_000;
const MAX_PENDING_DELETES = 10_000;
/** How long a failed fetch's lock stays marked failed: a few polls, so that every waiter sees it. */
const FAIL_MARKER_TTL_MS = 1_000;
/** Reconnect quickly (the store is only degraded meanwhile), at most every 2 s. */
const retryStrategy = (times: number): number => Math.min(50 * 2 ** Math.min(times, 6), 2_000);

/**
 * Connections the store opens itself fail fast while disconnected (no offline queue, no retries per
 * command): a caller must never wait on a Redis that is down.
 */
const OWN_CONNECTION: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  connectTimeout: 2_000,
  retryStrategy,
};
/**
 * The subscriber only subscribes; it may queue that until it is connected. It subscribes again itself on
 * every `ready` (then catches up), so ioredis's own resubscribe would send each SUBSCRIBE twice.
 */
const SUBSCRIBER: RedisOptions = {
  enableOfflineQueue: true,
  maxRetriesPerRequest: null,
  autoResubscribe: false,
  connectTimeout: 2_000,
  retryStrategy,
};

const FAILED = Symbol('redis failed');
type Failed = typeof FAILED;

/**
 * The memory tier is the `MemoryTokenStore` this class extends: `getSync`, `peek`, `entries`, `size`, `subscribe`
 * and LRU `evicted` events are exactly the memory store's, so the cache's hot path runs the same code either way.
 */
export class RedisTokenStore extends MemoryTokenStore implements TokenStore {
  override readonly type: string = 'redis';
  /** True while Redis answers; false while it is down or restarting (the store then works from memory). */
  override readonly reachable: boolean = false;
  private readonly client: Redis;
  private readonly subscriber: Redis;
  private readonly ownsClient: boolean;
  private readonly prefix: string;
  private readonly channel: string;
  private readonly codec: RedisTokenCodec;
  private readonly lockTtlMs?: number;
  /** Tells this instance's own pub/sub messages apart from the others'. */
  private readonly instanceId = randomBytes(8).toString('hex');
  /** Callers of `fetchShared` waiting for another instance's fetch, by key; woken with true when it failed. */
  private readonly waiters = new Map<string, Set<(failed: boolean) => void>>();
  /**
   * Callers that saw another instance holding the lock, by key, for their whole wait: a failure notice that
   * arrives while one is between two polls (reading Redis, not listening) still reaches it.
   */
  private readonly watchers = new Map<string, Set<{ failed: boolean }>>();
  private readonly cleanups: (() => void)[] = [];
  /**
   * Invalidations Redis missed (it was unreachable), by key: the fingerprint of the token dropped here. Until
   * they are replayed after the reconnect, that token in Redis is treated as gone, so a revoked token can't come back.
   */
  private readonly pendingDeletes = new Map<string, string>();
  /** Keys whose last write to Redis failed: their token is shared after the reconnect if Redis has none. */
  private readonly unshared = new Set<string>();
  /** Pending until the connections first open (or fail, or CONNECT_WAIT_MS passes). */
  private connecting?: Promise<void>;
  private subscribedBefore = false;
  private onFirstSubscription?: () => void;
  /** Redis's run_id when last connected: a new one means Redis restarted (and lost its keys). */
  private redisRunId?: string;
  private closed = false;

  constructor(options: RedisTokenStoreOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TokenCacheConfigError('options', redisMessages.badOptions());
    const { client, url, keyPrefix = DEFAULT_PREFIX, encryptionKey, maxEntries, lockTtlMs } = options;
    if (client !== undefined && url !== undefined) throw new TokenCacheConfigError('url', redisMessages.clientAndUrl());
    if (client !== undefined && (client === null || typeof client.duplicate !== 'function' || typeof client.evalsha !== 'function')) {
      throw new TokenCacheConfigError('client', redisMessages.badClient());
    }
    if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//i.test(url))) throw new TokenCacheConfigError('url', redisMessages.badUrl());
    if (typeof keyPrefix !== 'string' || keyPrefix === '') throw new TokenCacheConfigError('keyPrefix', redisMessages.badKeyPrefix());
    assertTimerMs('lockTtlMs', lockTtlMs);
    const key = encryptionKey === undefined ? undefined : parseEncryptionKey(encryptionKey);
    super({ maxEntries });
    this.codec = new RedisTokenCodec(key);
    this.prefix = keyPrefix;
    this.channel = `${keyPrefix}events`;
    this.lockTtlMs = lockTtlMs;

    if (client !== undefined) {
      this.client = client;
      this.ownsClient = false;
      // A lazy client of the user's would never connect: the store only sends commands to a ready one.
      if (client.status === 'wait') client.connect().catch(() => undefined);
    } else {
      this.client = new Redis(url ?? DEFAULT_URL, OWN_CONNECTION);
      this.ownsClient = true;
      // Errors surface as `reachable: false` and local fallbacks; without a listener ioredis would print each one.
      this.client.on('error', () => undefined);
    }
    this.trackReachability();
    this.subscriber = this.client.duplicate(SUBSCRIBER);
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('message', (channel: string, message: string) => this.onMessage(channel, message));
    this.subscriber.on('ready', () => this.onSubscriberReady());

    // Subscribed before the first call goes on: a token taken before that could miss its invalidation.
    const subscribed = new Promise<void>((resolve) => (this.onFirstSubscription = resolve));
    // Their one-shot listeners go in close() if no event came by then: the client may be the user's.
    const subscriberFailed = failed(this.subscriber);
    const clientSettled = settled(this.client);
    this.cleanups.push(subscriberFailed.cancel, clientSettled.cancel);
    const subscriberSettled = Promise.race([subscribed, subscriberFailed.promise]);
    const connecting = Promise.race([Promise.all([clientSettled.promise, subscriberSettled]), delay(CONNECT_WAIT_MS)]).then(() => {
      if (this.connecting === connecting) this.connecting = undefined;
    });
    this.connecting = connecting;
  }

  /** The memory tier, else what another instance stored in Redis (then kept in memory too). */
  override async get(key: string): Promise<StoredToken | undefined> {
    const local = this.getSync(key);
    if (local !== undefined) return local;
    const remote = await this.readRemote(key);
    if (remote === FAILED || remote.token === undefined || this.revoked(key, remote.token)) return undefined;
    await super.set(key, remote.token);
    return remote.token;
  }

  override async set(key: string, token: StoredToken): Promise<void> {
    await super.set(key, token);
    await this.writeRemote(key, token, '');
  }

  /**
   * Removes the key from both tiers and tells every instance to drop it from memory. With `accessToken`,
   * only where that token is the one stored: a newer token, here or in Redis, stays.
   */
  override async delete(key: string, accessToken?: string): Promise<boolean> {
    const held = this.peek(key);
    const local = this.deleteSync(key, accessToken);
    const fingerprint = accessToken === undefined ? '' : this.codec.fingerprintOf(accessToken);
    const remote = await this.evalScript(scripts.deleteToken, [this.tokenKey(key)], [fingerprint, this.channel, this.message('del', key, fingerprint)]);
    if (remote === FAILED) {
      // Replayed on reconnect by fingerprint (never blindly): a token stored after the outage must survive.
      const missed = fingerprint || (held === undefined ? '' : this.codec.fingerprint(held));
      if (missed !== '') this.rememberDelete(key, missed);
    } else if (this.pendingDeletes.get(key) === fingerprint) {
      this.pendingDeletes.delete(key);
    }
    return local || remote === 1;
  }

  /**
   * Cross-instance single flight: a usable token in Redis is taken as is; otherwise one instance takes the
   * lock and fetches while the others wait for its pub/sub message (or poll). Any Redis failure, or a wait
   * longer than the lock can last, ends in a local fetch: Redis trouble never fails a call. When the holder's
   * fetch fails, its waiters fail at once too (the token endpoint is in trouble; the cache backs off) rather
   * than each taking its turn at a failing fetch; a caller thus waits at most about lockTtlMs + timeoutMs.
   */
  async fetchShared(key: string, fetch: () => Promise<StoredToken>, options: SharedFetchOptions): Promise<StoredToken> {
    const { accept, timeoutMs, signal, shouldStore } = options;
    const local = this.peek(key);
    if (local !== undefined && accept(local)) return local;
    const lockTtlMs = this.lockTtlMs ?? timeoutMs + LOCK_MARGIN_MS;
    // A live holder is done within timeoutMs, a dead one's lock is gone after lockTtlMs (>= timeoutMs by default).
    const giveUpAt = Date.now() + lockTtlMs;
    const tokenKey = this.tokenKey(key);
    let watch: { failed: boolean } | undefined;
    try {
      for (;;) {
        signal?.throwIfAborted();
        // Shutting down: a waiter woken by close() must not call the token endpoint now.
        if (this.closed) throw closedError();
        const remote = await this.readRemote(key);
        if (remote === FAILED) return await this.fetchLocally(key, fetch, shouldStore);
        if (remote.token !== undefined && !this.superseded(key, remote.token, local) && accept(remote.token)) {
          await super.set(key, remote.token);
          return remote.token;
        }
        if (watch?.failed) throw peerFailedError();
        // Listen before trying the lock, so that the holder's message can't slip between the two.
        const wait = this.waitFor(key, signal);
        const owner = randomBytes(16).toString('hex');
        const outcome = await this.evalScript(
          scripts.acquireLock,
          [tokenKey, this.lockKey(key)],
          [fingerprintOfValue(remote.value), owner, lockTtlMs, watch === undefined ? '0' : '1'],
        );
        if (outcome === 2 && Date.now() < giveUpAt) {
          watch ??= this.watch(key);
          if ((await wait.promise) || watch.failed) throw peerFailedError();
          continue;
        }
        wait.cancel();
        if (outcome === 3) throw peerFailedError();
        if (outcome === 0) continue; // another instance stored a token since we looked: look again
        if (outcome === 1) return await this.fetchUnderLock(key, fetch, owner, shouldStore);
        return await this.fetchLocally(key, fetch, shouldStore);
      }
    } finally {
      if (watch !== undefined) this.unwatch(key, watch);
    }
  }

  /** Closes the pub/sub connection, and the command connection when the store opened it (never a `client` passed in). */
  override async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.setReachable(false);
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    for (const key of [...this.waiters.keys()]) this.wake(key);
    await Promise.all([quit(this.subscriber), this.ownsClient ? quit(this.client) : undefined]);
    await super.close();
  }

  // ---------------------------------------------------------------- internals

  private tokenKey(key: string): string {
    return `${this.prefix}token:${key}`;
  }

  private lockKey(key: string): string {
    return `${this.prefix}lock:${key}`;
  }

  /** A token invalidated here while Redis could not hear it. */
  private revoked(key: string, token: StoredToken): boolean {
    return this.pendingDeletes.get(key) === this.codec.fingerprint(token);
  }

  /** A Redis token that must not replace what this instance holds: revoked here, or older than ours. */
  private superseded(key: string, remote: StoredToken, local: StoredToken | undefined): boolean {
    return this.revoked(key, remote) || (local !== undefined && this.newer(local, remote));
  }

  /**
   * Whether `a` was received strictly later than `b`. On a tie (two fetches in one millisecond, or a fake
   * clock) Redis's token wins: only a strictly newer local token is pushed back, so two instances never keep
   * swapping the same two tokens.
   */
  private newer(a: StoredToken, b: StoredToken): boolean {
    return a.receivedAt > b.receivedAt;
  }

  private rememberDelete(key: string, fingerprint: string): void {
    this.pendingDeletes.delete(key);
    this.pendingDeletes.set(key, fingerprint);
    // Bounded like the memory tier: the oldest missed invalidation goes first.
    if (this.pendingDeletes.size > MAX_PENDING_DELETES) this.pendingDeletes.delete(this.pendingDeletes.keys().next().value!);
  }

  private message(o: StoreMessage['o'], k: string, f?: string): string {
    const message: StoreMessage = { o, k, i: this.instanceId, ...(f ? { f } : {}) };
    return JSON.stringify(message);
  }

  private async fetchUnderLock(key: string, fetch: () => Promise<StoredToken>, owner: string, shouldStore?: () => boolean): Promise<StoredToken> {
    let token: StoredToken;
    try {
      token = await fetch();
    } catch (error) {
      // The waiters fail now too (not after the lock's TTL, nor each after a failing fetch of its own).
      await this.evalScript(scripts.failLock, [this.lockKey(key)], [owner, FAIL_MARKER_TTL_MS, this.channel, this.message('fail', key)]);
      this.peerFailed(key);
      throw error;
    }
    if (shouldStore?.() === false) {
      // Cleared while it ran: the caller gets the token, no tier keeps it; the others fetch for themselves.
      await this.evalScript(scripts.releaseLock, [this.lockKey(key)], [owner, this.channel, this.message('rel', key)]);
      this.wake(key);
      return token;
    }
    await super.set(key, token);
    await this.writeRemote(key, token, owner);
    return token;
  }

  /** Redis is down or the wait ran out: this instance fetches for itself, and shares the result if it can. */
  private async fetchLocally(key: string, fetch: () => Promise<StoredToken>, shouldStore?: () => boolean): Promise<StoredToken> {
    if (this.closed) throw closedError();
    const token = await fetch();
    if (shouldStore?.() === false) return token;
    await super.set(key, token);
    await this.writeRemote(key, token, '');
    return token;
  }

  /** Stores the token in Redis until it expires, releases `owner`'s lock, and tells the other instances. */
  private async writeRemote(key: string, token: StoredToken, owner: string): Promise<void> {
    const expiresAt = Math.ceil(token.expiresAt);
    if (!(expiresAt > Date.now())) {
      // Already expired by Redis's clock: PEXPIREAT would delete it at once; only the lock needs releasing.
      if (owner !== '') await this.evalScript(scripts.releaseLock, [this.lockKey(key)], [owner, this.channel, this.message('rel', key)]);
    } else {
      const tokenKey = this.tokenKey(key);
      const fingerprint = this.codec.fingerprint(token);
      const stored = await this.evalScript(
        scripts.storeToken,
        [tokenKey, this.lockKey(key)],
        [this.codec.encode(tokenKey, token), expiresAt, owner, this.channel, this.message('set', key, fingerprint)],
      );
      if (stored === FAILED) {
        this.unshared.add(key);
        if (this.unshared.size > MAX_PENDING_DELETES) this.unshared.delete(this.unshared.values().next().value!);
      } else {
        this.unshared.delete(key);
      }
    }
    this.wake(key);
  }

  private async readRemote(key: string): Promise<{ value: string | null; token?: StoredToken } | Failed> {
    const tokenKey = this.tokenKey(key);
    const value = await this.run((client) => client.get(tokenKey));
    if (value === FAILED) return FAILED;
    return { value, token: this.codec.decode(tokenKey, value) };
  }

  /**
   * Runs one Redis operation, or gives FAILED at once when Redis is not connected, and after
   * COMMAND_TIMEOUT_MS when it does not answer (a user's client may queue commands while offline).
   */
  private async run<T>(operation: (client: Redis) => Promise<T>): Promise<T | Failed> {
    if (this.connecting !== undefined) await this.connecting;
    if (this.closed || this.client.status !== 'ready') return FAILED;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Failed>((resolve) => {
      // setImmediate: after an event-loop stall the reply may already be waiting; let I/O run before giving up.
      timer = setTimeout(() => setImmediate(() => resolve(FAILED)), COMMAND_TIMEOUT_MS);
      timer.unref();
    });
    try {
      return await Promise.race([operation(this.client), timeout]);
    } catch {
      return FAILED;
    } finally {
      clearTimeout(timer);
    }
  }

  /** EVALSHA, falling back to EVAL when Redis doesn't know the script (first use, or after a restart). */
  private evalScript(script: LuaScript, keys: string[], args: (string | number)[]): Promise<unknown> {
    return this.run(async (client) => {
      try {
        return await client.evalsha(script.sha, script.keys, ...keys, ...args);
      } catch (error) {
        if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error;
        return client.eval(script.lua, script.keys, ...keys, ...args);
      }
    });
  }

  /**
   * Resolves on a pub/sub message for the key (true when it says the holder's fetch failed), after
   * POLL_INTERVAL_MS, or on abort; `cancel` stops waiting.
   */
  private waitFor(key: string, signal?: AbortSignal): { promise: Promise<boolean>; cancel: () => void } {
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

  private watch(key: string): { failed: boolean } {
    const watch = { failed: false };
    let set = this.watchers.get(key);
    if (set === undefined) this.watchers.set(key, (set = new Set()));
    set.add(watch);
    return watch;
  }

  private unwatch(key: string, watch: { failed: boolean }): void {
    const set = this.watchers.get(key);
    if (set === undefined) return;
    set.delete(watch);
    if (set.size === 0) this.watchers.delete(key);
  }

  /** The lock holder's fetch for the key failed: everyone waiting for it gives up now. */
  private peerFailed(key: string): void {
    for (const watch of this.watchers.get(key) ?? []) watch.failed = true;
    this.wake(key, true);
  }

  private wake(key: string, failed = false): void {
    const set = this.waiters.get(key);
    if (set === undefined) return;
    this.waiters.delete(key);
    for (const wake of set) wake(failed);
  }

  private onMessage(channel: string, raw: string): void {
    if (channel !== this.channel || this.closed) return;
    let message: StoreMessage;
    try {
      message = JSON.parse(raw) as StoreMessage;
    } catch {
      return;
    }
    if (typeof message?.k !== 'string') return;
    if (message.o === 'fail') this.peerFailed(message.k);
    else this.wake(message.k);
    if (message.i === this.instanceId) return;
    const local = this.peek(message.k);
    if (local === undefined) return;
    if (message.o === 'del') {
      // Only the token that was invalidated: a newer one this instance holds stays.
      if (message.f === undefined || message.f === this.codec.fingerprint(local)) {
        this.deleteSync(message.k, local.accessToken);
        this.emit({ type: 'remote-invalidated', key: message.k });
      }
    } else if (message.o === 'set' && message.f !== this.codec.fingerprint(local)) {
      void this.replaceFromRemote(message.k, local);
    }
  }

  /** Another instance stored a new token for a key held here: use it too, keeping ours if it can't be read. */
  private async replaceFromRemote(key: string, seen: StoredToken): Promise<void> {
    const remote = await this.readRemote(key);
    if (remote === FAILED || remote.value === null || this.closed) return;
    await this.adopt(key, seen, remote.value);
  }

  private onSubscriberReady(): void {
    this.subscriber.subscribe(this.channel).then(
      () => {
        // Messages sent while we were disconnected are lost: catch up with what Redis holds now.
        const first = !this.subscribedBefore;
        this.subscribedBefore = true;
        this.onFirstSubscription?.();
        void this.catchUp(first);
      },
      () => undefined,
    );
  }

  /**
   * After a reconnect: take every token another instance stored meanwhile. When Redis itself restarted (a
   * new run_id: its keys are gone, not invalidated), share our memory tier's tokens again so that the
   * instances, which fetched on their own while it was down, converge on one token per key.
   */
  private async catchUp(first: boolean): Promise<void> {
    if (this.client.status !== 'ready') {
      const ready = settled(this.client);
      await Promise.race([ready.promise, delay(CONNECT_WAIT_MS)]);
      ready.cancel();
    }
    const info = await this.run((client) => client.info('server'));
    if (info === FAILED) return;
    const runId = /run_id:(\w+)/.exec(String(info))?.[1];
    const restarted = this.redisRunId !== undefined && runId !== this.redisRunId;
    this.redisRunId = runId;
    if (!(await this.replayDeletes()) || first) return;
    const keys = [...this.entries()].map(([key]) => key);
    for (let i = 0; i < keys.length && !this.closed; i += 100) {
      const batch = keys.slice(i, i + 100);
      const values = await this.run((client) => client.mget(batch.map((key) => this.tokenKey(key))));
      if (values === FAILED) return;
      for (const [j, key] of batch.entries()) {
        const local = this.peek(key);
        const value = values[j] ?? null;
        const unshared = this.unshared.delete(key);
        if (local === undefined) continue;
        if (value !== null) {
          if (fingerprintOfValue(value) !== this.codec.fingerprint(local)) await this.adopt(key, local, value);
        } else if ((restarted || unshared) && local.expiresAt > Date.now()) {
          const tokenKey = this.tokenKey(key);
          const existing = await this.evalScript(
            scripts.storeTokenIfAbsent,
            [tokenKey],
            [this.codec.encode(tokenKey, local), Math.ceil(local.expiresAt), this.channel, this.message('set', key, this.codec.fingerprint(local))],
          );
          if (typeof existing === 'string') await this.adopt(key, local, existing);
        }
      }
    }
  }

  /**
   * Invalidations made while Redis was unreachable reach it, and every instance, now (compare-and-delete:
   * a newer token stored meanwhile stays). False when Redis failed again.
   */
  private async replayDeletes(): Promise<boolean> {
    for (const [key, fingerprint] of [...this.pendingDeletes]) {
      if (this.closed) return false;
      const done = await this.evalScript(scripts.deleteToken, [this.tokenKey(key)], [fingerprint, this.channel, this.message('del', key, fingerprint)]);
      if (done === FAILED) return false;
      if (this.pendingDeletes.get(key) === fingerprint) this.pendingDeletes.delete(key);
    }
    return true;
  }

  /**
   * Redis holds another token than `seen` (still the entry here): take it when it is newer; when ours is newer
   * (Redis missed our invalidation and our write during an outage), put ours back in Redis, unless someone
   * wrote there since we read it (their message then brings us back here).
   */
  private async adopt(key: string, seen: StoredToken, value: string): Promise<void> {
    const tokenKey = this.tokenKey(key);
    const token = this.codec.decode(tokenKey, value);
    if (token === undefined || this.peek(key) !== seen || this.revoked(key, token)) return;
    if (this.codec.fingerprint(token) === this.codec.fingerprint(seen)) return;
    if (!this.newer(seen, token)) {
      await super.set(key, token);
      this.emit({ type: 'remote-invalidated', key });
      return;
    }
    const expiresAt = Math.ceil(seen.expiresAt);
    if (!(expiresAt > Date.now())) return;
    await this.evalScript(
      scripts.replaceToken,
      [tokenKey],
      [fingerprintOfValue(value), this.codec.encode(tokenKey, seen), expiresAt, this.channel, this.message('set', key, this.codec.fingerprint(seen))],
    );
  }

  /**
   * `reachable` follows the command connection's events (a field, not a getter, as in the memory store).
   * Listeners on a user's client are removed again in close().
   */
  private trackReachability(): void {
    const update = () => this.setReachable(!this.closed && this.client.status === 'ready');
    for (const event of ['ready', 'close', 'end', 'reconnecting'] as const) {
      this.client.on(event, update);
      this.cleanups.push(() => this.client.off(event, update));
    }
    // The command connection may come back without the subscriber having dropped (no catch-up then).
    const replay = () => {
      if (this.pendingDeletes.size > 0) void this.replayDeletes();
    };
    this.client.on('ready', replay);
    this.cleanups.push(() => this.client.off('ready', replay));
    update();
  }

  private setReachable(value: boolean): void {
    (this as { reachable: boolean }).reachable = value;
  }
}

function closedError(): TokenFetchError {
  return new TokenFetchError(redisMessages.storeClosed(), { retryable: false });
}

function peerFailedError(): TokenFetchError {
  return new TokenFetchError(redisMessages.peerFetchFailed(), { retryable: true });
}

interface Pending {
  promise: Promise<void>;
  /** Removes the listeners without resolving. */
  cancel: () => void;
}

/** Resolves when the connection is ready, or has failed once (the store then starts degraded). */
function settled(client: Redis): Pending {
  if (client.status === 'ready') return { promise: Promise.resolve(), cancel: () => undefined };
  return firstOf(client, ['ready', 'error', 'end']);
}

/** Resolves when the connection has failed once. */
function failed(client: Redis): Pending {
  return firstOf(client, ['error', 'end']);
}

function firstOf(client: Redis, events: string[]): Pending {
  let cancel!: () => void;
  const promise = new Promise<void>((resolve) => {
    cancel = () => {
      for (const event of events) client.off(event, done);
    };
    const done = () => {
      cancel();
      resolve();
    };
    for (const event of events) client.once(event, done);
  });
  return { promise, cancel };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** QUIT when connected (pending replies first), else just drop the socket and stop reconnecting. */
async function quit(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  if (client.status === 'ready') {
    await Promise.race([client.quit().catch(() => undefined), delay(COMMAND_TIMEOUT_MS)]);
  }
  client.disconnect();
}
