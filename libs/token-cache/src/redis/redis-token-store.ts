/**
 * A token store shared by many app instances through Redis (a single server, Sentinel or a Cluster), with a
 * bounded in-memory tier in front so that a warm `getToken` never leaves the process. Redis trouble never
 * fails a call: the store then works from its memory tier and fetches locally until ioredis has reconnected.
 * The rules live one call away: key layout (`redis-key-layout`), the lock protocol (`redis-fetch-lock`),
 * connections (`redis-connection`), the value format (`redis-token-codec`), what an outage missed
 * (`redis-outage-ledger`), waiting callers (`redis-waiters`), refresh tokens (`redis-shared-secrets`).
 */
import { randomBytes } from 'node:crypto';
import { MemoryTokenStore } from '../core/memory-token-store.js';
import { TokenCacheConfigError, TokenFetchError } from '../core/token-cache.errors.js';
import type { ExclusiveOptions, SharedFetchOptions, SharedSecretSlot, StoredToken, TokenStore } from '../core/token-store.interface.js';
import { assertKnownOptions, assertTimerMs, optionNames } from '../core/validate.js';
import { FAILED, RedisLink, type Failed, type RedisClient } from './redis-connection.js';
import { DEFAULT_LOCK_TTL_MS, FetchLocks, newLockOwner, waitDeadline } from './redis-fetch-lock.js';
import { RedisKeyLayout } from './redis-key-layout.js';
import { OutageLedger } from './redis-outage-ledger.js';
import { SharedSecrets } from './redis-shared-secrets.js';
import { tokenKeyTtlMs } from './redis-store-ttl.js';
import { fingerprintOfValue, parseEncryptionKey, RedisTokenCodec } from './redis-token-codec.js';
import { redisMessages } from './redis-token-store.messages.js';
import { scripts } from './redis-token-store.scripts.js';
import { encodeMessage, KeyWaiters, parseMessage, type StoreMessage } from './redis-waiters.js';

export interface RedisTokenStoreOptions {
  /**
   * An ioredis client you own: a `Redis` (a single server, or Sentinel-managed with `sentinels`) or a
   * `Cluster`. The store sends its commands on it and opens one duplicate of it for pub/sub; `close()` closes
   * that duplicate but never your client. Give either `client` or `url`.
   */
  client?: RedisClient;
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
   * The cross-instance fetch lock's TTL, in ms. Its holder renews it every third of this while fetching, so
   * a slow fetch keeps it; a holder that dies (or gives up without being able to tell Redis) blocks the
   * others no longer than this. Default 10_000.
   */
  lockTtlMs?: number;
  /**
   * A Redis command slower than this counts as failed for the call that sent it: that call fetches on its
   * own. Longer than the pause of a failover or `CLIENT PAUSE` (about 1-1.5 s), so callers wait through one
   * instead of each fetching. Default 2_000 ms.
   */
  commandTimeoutMs?: number;
}

const REDIS_OPTION_NAMES = optionNames<RedisTokenStoreOptions>()('client', 'url', 'keyPrefix', 'encryptionKey', 'maxEntries', 'lockTtlMs', 'commandTimeoutMs');
const DEFAULT_URL = 'redis://127.0.0.1:6379';
const DEFAULT_PREFIX = 'token-cache:';
const DEFAULT_COMMAND_TIMEOUT_MS = 2_000;

/**
 * The memory tier is the `MemoryTokenStore` this class extends: `getSync`, `peek`, `entries`, `size`, `subscribe`
 * and LRU `evicted` events are exactly the memory store's, so the cache's hot path runs the same code either way.
 */
export class RedisTokenStore extends MemoryTokenStore implements TokenStore {
  override readonly type: string = 'redis';
  /** True while Redis answers; false while it is down or restarting (the store then works from memory). */
  override readonly reachable: boolean = false;
  private readonly link: RedisLink;
  private readonly keys: RedisKeyLayout;
  private readonly codec: RedisTokenCodec;
  private readonly locks: FetchLocks;
  private readonly secrets: SharedSecrets;
  private readonly waiters = new KeyWaiters();
  private readonly missed = new OutageLedger();
  /** Tells this instance's own pub/sub messages apart from the others'. */
  private readonly instanceId = randomBytes(8).toString('hex');
  /** Redis's run id(s) when last connected: a new one means Redis restarted (and lost its keys). */
  private redisRunId?: string;
  private closed = false;
  /** Locks this instance holds while it fetches (owner -> lock): released by close(). */
  private readonly heldLocks = new Map<string, { lockKey: string; key: string }>();

  constructor(options: RedisTokenStoreOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TokenCacheConfigError('options', redisMessages.badOptions());
    assertKnownOptions(options, REDIS_OPTION_NAMES, 'RedisTokenStore.');
    const { client, url, keyPrefix = DEFAULT_PREFIX, encryptionKey, maxEntries, lockTtlMs, commandTimeoutMs } = options;
    if (client !== undefined && url !== undefined) throw new TokenCacheConfigError('url', redisMessages.clientAndUrl());
    if (client !== undefined && (client === null || typeof client.duplicate !== 'function' || typeof client.evalsha !== 'function')) {
      throw new TokenCacheConfigError('client', redisMessages.badClient());
    }
    if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//i.test(url))) throw new TokenCacheConfigError('url', redisMessages.badUrl());
    const keys = new RedisKeyLayout(keyPrefix);
    assertTimerMs('lockTtlMs', lockTtlMs);
    assertTimerMs('commandTimeoutMs', commandTimeoutMs);
    const key = encryptionKey === undefined ? undefined : parseEncryptionKey(encryptionKey);
    super({ maxEntries });
    this.keys = keys;
    this.codec = new RedisTokenCodec(key);
    this.link = new RedisLink({
      client,
      url: url ?? DEFAULT_URL,
      commandTimeoutMs: commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      channel: keys.channel,
      onMessage: (raw) => this.onMessage(raw),
      onSubscribed: (first) => void this.catchUp(first),
      onReachability: (up) => {
        (this as { reachable: boolean }).reachable = up && !this.closed;
        // The command connection may come back without the subscriber having dropped (no catch-up then).
        if (up && this.missed.pendingDeletes > 0) void this.replayDeletes();
      },
    });
    this.locks = new FetchLocks(this.link, keys.channel, lockTtlMs ?? DEFAULT_LOCK_TTL_MS);
    this.secrets = new SharedSecrets(this.link, keys, this.locks, this.codec, () => this.closed);
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
    const remote = await this.link.eval(scripts.deleteToken, [this.keys.token(key)], [fingerprint, this.keys.channel, this.message('del', key, fingerprint)]);
    if (remote === FAILED) {
      // Replayed on reconnect by fingerprint (never blindly): a token stored after the outage must survive.
      const missed = fingerprint || (held === undefined ? '' : this.codec.fingerprint(held));
      if (missed !== '') this.missed.rememberDelete(key, missed);
    } else {
      this.missed.deleteDone(key, fingerprint);
    }
    return local || remote === 1;
  }

  /**
   * Cross-instance single flight: a usable token in Redis is taken as is; otherwise one instance takes the
   * lock (renewed while it fetches) and the others wait for its pub/sub message (or poll). Any Redis failure,
   * or a wait longer than a live holder can take, ends in a local fetch: Redis trouble never fails a call.
   * When the holder's fetch fails, its waiters fail at once too (the token endpoint is in trouble; the cache
   * backs off) rather than each taking its turn at a failing fetch.
   */
  async fetchShared(key: string, fetch: () => Promise<StoredToken>, options: SharedFetchOptions): Promise<StoredToken> {
    const { accept, timeoutMs, signal, shouldStore } = options;
    const local = this.peek(key);
    if (local !== undefined && accept(local)) return local;
    const giveUpAt = waitDeadline(Date.now(), timeoutMs, this.locks.ttlMs);
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
        const wait = this.waiters.waitFor(key, signal);
        const owner = newLockOwner();
        const outcome = await this.locks.acquire(this.keys.token(key), this.keys.lock(key), fingerprintOfValue(remote.value), owner, watch !== undefined);
        if (outcome === 'held' && Date.now() < giveUpAt) {
          watch ??= this.waiters.watch(key);
          if ((await wait.promise) || watch.failed) throw peerFailedError();
          continue;
        }
        wait.cancel();
        if (outcome === 'peer-failed') throw peerFailedError();
        if (outcome === 'changed') continue; // another instance stored a token since we looked: look again
        if (outcome === 'taken') return await this.fetchUnderLock(key, fetch, owner, shouldStore);
        return await this.fetchLocally(key, fetch, shouldStore);
      }
    } finally {
      if (watch !== undefined) this.waiters.unwatch(key, watch);
    }
  }

  /** Runs `run` while no other instance runs one for `name`, with the shared (encrypted) value of `name`. */
  exclusive<T>(name: string, run: (slot: SharedSecretSlot) => Promise<T>, options: ExclusiveOptions): Promise<T> {
    return this.secrets.exclusive(name, run, options);
  }

  /** Closes the pub/sub connection, and the command connection when the store opened it (never a `client` passed in). */
  override async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    (this as { reachable: boolean }).reachable = false;
    this.waiters.wakeAll();
    // Fetches this instance runs under a lock are being stopped: release the locks (telling the others), so
    // their callers fetch for themselves now instead of waiting out lockTtlMs.
    const held = [...this.heldLocks];
    this.heldLocks.clear();
    await Promise.allSettled(held.map(([owner, { lockKey, key }]) => this.locks.release(lockKey, owner, this.message('rel', key))));
    await this.link.close();
    await super.close();
  }

  // ---------------------------------------------------------------- internals

  /** A token invalidated here while Redis could not hear it. */
  private revoked(key: string, token: StoredToken): boolean {
    return this.missed.revoked(key, this.codec.fingerprint(token));
  }

  /**
   * A Redis token that must not replace what this instance holds: revoked here, or older than ours. On a tie
   * (two fetches in one millisecond, or a fake clock) Redis's token wins, so two instances never keep swapping.
   */
  private superseded(key: string, remote: StoredToken, local: StoredToken | undefined): boolean {
    return this.revoked(key, remote) || (local !== undefined && local.receivedAt > remote.receivedAt);
  }

  private message(o: StoreMessage['o'], k: string, f?: string): string {
    return encodeMessage(o, k, this.instanceId, f);
  }

  private async fetchUnderLock(key: string, fetch: () => Promise<StoredToken>, owner: string, shouldStore?: () => boolean): Promise<StoredToken> {
    const lockKey = this.keys.lock(key);
    const stopRenewing = this.locks.hold(lockKey, owner);
    this.heldLocks.set(owner, { lockKey, key });
    let token: StoredToken;
    try {
      token = await fetch();
    } catch (error) {
      stopRenewing();
      this.heldLocks.delete(owner);
      // Stopped by close(), which released the lock: the others fetch for themselves, nobody failed.
      if (this.closed) throw error;
      // The waiters fail now too (not after the lock's TTL, nor each after a failing fetch of its own).
      await this.locks.fail(lockKey, owner, this.message('fail', key));
      this.waiters.peerFailed(key);
      throw error;
    }
    stopRenewing();
    this.heldLocks.delete(owner);
    if (shouldStore?.() === false) {
      // Cleared while it ran: the caller gets the token, no tier keeps it; the others fetch for themselves.
      await this.locks.release(lockKey, owner, this.message('rel', key));
      this.waiters.wake(key);
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

  /** Stores the token in Redis until it expires (every key has a TTL), releases `owner`'s lock, and tells the other instances. */
  private async writeRemote(key: string, token: StoredToken, owner: string): Promise<void> {
    const ttlMs = tokenKeyTtlMs(token.expiresAt, Date.now());
    if (ttlMs === undefined) {
      // Already expired: nothing worth sharing; only the lock needs releasing.
      if (owner !== '') await this.locks.release(this.keys.lock(key), owner, this.message('rel', key));
    } else {
      const tokenKey = this.keys.token(key);
      const stored = await this.link.eval(
        scripts.storeToken,
        [tokenKey, this.keys.lock(key)],
        [this.codec.encode(tokenKey, token), ttlMs, owner, this.keys.channel, this.message('set', key, this.codec.fingerprint(token))],
      );
      if (stored === FAILED) this.missed.writeFailed(key);
      else this.missed.writeDone(key);
    }
    this.waiters.wake(key);
  }

  private async readRemote(key: string): Promise<{ value: string | null; token?: StoredToken } | Failed> {
    const tokenKey = this.keys.token(key);
    const value = await this.link.run((client) => client.get(tokenKey));
    if (value === FAILED) return FAILED;
    return { value, token: this.codec.decode(tokenKey, value) };
  }

  private onMessage(raw: string): void {
    const message = parseMessage(raw);
    if (message === undefined || this.closed) return;
    if (message.o === 'fail') this.waiters.peerFailed(message.k);
    else this.waiters.wake(message.k);
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

  /**
   * After a (re)subscription: messages sent while we were disconnected are lost, so take every token another
   * instance stored meanwhile. When Redis itself restarted (a new run id: its keys are gone, not invalidated),
   * share our memory tier's tokens again so that the instances, which fetched on their own while it was
   * down, converge on one token per key.
   */
  private async catchUp(first: boolean): Promise<void> {
    await this.link.settled();
    const runId = await this.link.runId();
    if (runId === FAILED) return;
    const restarted = this.redisRunId !== undefined && runId !== this.redisRunId;
    this.redisRunId = runId;
    if (!(await this.replayDeletes()) || first) return;
    const keys = [...this.entries()].map(([key]) => key);
    for (let i = 0; i < keys.length && !this.closed; i += 100) {
      const batch = keys.slice(i, i + 100);
      const values = await this.link.getMany(batch.map((key) => this.keys.token(key)));
      if (values === FAILED) return;
      for (const [j, key] of batch.entries()) {
        const local = this.peek(key);
        const value = values[j] ?? null;
        const unshared = this.missed.writeDone(key);
        if (local === undefined) continue;
        if (value !== null) {
          if (fingerprintOfValue(value) !== this.codec.fingerprint(local)) await this.adopt(key, local, value);
          continue;
        }
        const ttlMs = tokenKeyTtlMs(local.expiresAt, Date.now());
        if ((restarted || unshared) && ttlMs !== undefined) {
          const tokenKey = this.keys.token(key);
          const existing = await this.link.eval(
            scripts.storeTokenIfAbsent,
            [tokenKey],
            [this.codec.encode(tokenKey, local), ttlMs, this.keys.channel, this.message('set', key, this.codec.fingerprint(local))],
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
    for (const [key, fingerprint] of this.missed.pendingDeleteEntries()) {
      if (this.closed) return false;
      const done = await this.link.eval(scripts.deleteToken, [this.keys.token(key)], [fingerprint, this.keys.channel, this.message('del', key, fingerprint)]);
      if (done === FAILED) return false;
      this.missed.deleteDone(key, fingerprint);
    }
    return true;
  }

  /**
   * Redis holds another token than `seen` (still the entry here): take it when it is newer; when ours is newer
   * (Redis missed our invalidation and our write during an outage), put ours back in Redis, unless someone
   * wrote there since we read it (their message then brings us back here).
   */
  private async adopt(key: string, seen: StoredToken, value: string): Promise<void> {
    const tokenKey = this.keys.token(key);
    const token = this.codec.decode(tokenKey, value);
    if (token === undefined || this.peek(key) !== seen || this.revoked(key, token)) return;
    if (this.codec.fingerprint(token) === this.codec.fingerprint(seen)) return;
    if (!(seen.receivedAt > token.receivedAt)) {
      await super.set(key, token);
      this.emit({ type: 'remote-invalidated', key });
      return;
    }
    const ttlMs = tokenKeyTtlMs(seen.expiresAt, Date.now());
    if (ttlMs === undefined) return;
    await this.link.eval(
      scripts.replaceToken,
      [tokenKey],
      [fingerprintOfValue(value), this.codec.encode(tokenKey, seen), ttlMs, this.keys.channel, this.message('set', key, this.codec.fingerprint(seen))],
    );
  }
}

function closedError(): TokenFetchError {
  return new TokenFetchError(redisMessages.storeClosed(), { retryable: false });
}

function peerFailedError(): TokenFetchError {
  return new TokenFetchError(redisMessages.peerFetchFailed(), { retryable: true });
}
