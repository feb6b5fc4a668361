/**
 * `RedisTokenStore.exclusive`: a fleet-wide lock per name (the fetch lock protocol) with a shared value
 * under it, so that refreshes spending one refresh token never overlap across instances and the rotated
 * refresh token reaches every instance (encrypted with the store's key, like tokens).
 */
import { TokenFetchError } from '../core/token-cache.errors.js';
import type { ExclusiveOptions, SharedSecretSlot } from '../core/token-store.interface.js';
import { delay, FAILED, type RedisLink } from './redis-connection.js';
import { newLockOwner, waitDeadline, type FetchLocks } from './redis-fetch-lock.js';
import type { RedisKeyLayout } from './redis-key-layout.js';
import type { RedisTokenCodec } from './redis-token-codec.js';
import { redisMessages } from './redis-token-store.messages.js';
import { POLL_INTERVAL_MS } from './redis-waiters.js';

/**
 * How long a shared secret lives in Redis after its last write: a refresh token unused this long is
 * usually expired at the IdP too. Every refresh writes it again. 90 days.
 */
export const SECRET_TTL_MS = 90 * 24 * 3_600_000;

/**
 * A value another instance left unsettled (marked as being spent, or put back after Redis lost it) is waited
 * for this many lock TTLs (30 s by default): a live instance shares its value within a second of reaching Redis.
 */
const SETTLE_LOCK_TTLS = 3;

export class SharedSecrets {
  constructor(
    private readonly link: RedisLink,
    private readonly layout: RedisKeyLayout,
    private readonly locks: FetchLocks,
    private readonly codec: RedisTokenCodec,
    private readonly isClosed: () => boolean,
  ) {}

  async exclusive<T>(name: string, run: (slot: SharedSecretSlot) => Promise<T>, options: ExclusiveOptions): Promise<T> {
    const lockKey = this.layout.of(`secret:${name}`, 'lock');
    const valueKey = this.layout.of(`secret:${name}`, 'value');
    const owner = newLockOwner();
    const giveUpAt = waitDeadline(Date.now(), options.timeoutMs, this.locks.ttlMs);
    for (;;) {
      options.signal?.throwIfAborted();
      if (this.isClosed()) throw new TokenFetchError(redisMessages.storeClosed(), { retryable: false });
      // The value key is never the token key: '' as fingerprint makes the script's token check pass.
      const outcome = await this.locks.acquire(valueKey + ':none', lockKey, '', owner, false);
      if (outcome === 'taken') break;
      // Never without the lock: a refresh token spent by two instances at once revokes the whole grant.
      if (outcome === 'unavailable') throw new TokenFetchError(redisMessages.exclusiveUnavailable(), { retryable: true });
      if (Date.now() >= giveUpAt) throw new TokenFetchError(redisMessages.exclusiveBusy(), { retryable: true });
      await delay(POLL_INTERVAL_MS / 2);
    }
    const stop = this.locks.hold(lockKey, owner);
    try {
      return await run(this.slot(valueKey));
    } finally {
      stop();
      await this.locks.release(lockKey, owner, '');
    }
  }

  private slot(valueKey: string): SharedSecretSlot {
    return {
      settleMs: SETTLE_LOCK_TTLS * this.locks.ttlMs,
      read: async () => {
        const value = await this.link.run((client) => client.get(valueKey));
        if (value === FAILED) throw new TokenFetchError(redisMessages.exclusiveUnavailable(), { retryable: true });
        return this.codec.decodeSecret(valueKey, value);
      },
      write: async (secret: string) => {
        const stored = await this.link.run((client) => client.set(valueKey, this.codec.encodeSecret(valueKey, secret), 'PX', SECRET_TTL_MS));
        return stored !== FAILED;
      },
    };
  }
}
