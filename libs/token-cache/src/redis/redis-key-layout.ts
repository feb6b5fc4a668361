/**
 * Where the store's keys live. Every key of one cache key shares a Redis Cluster hash tag (`{…}`), so the
 * token, its fetch lock and its failure marker sit in one hash slot and each Lua script touches one slot.
 */
import { TokenCacheConfigError } from '../core/token-cache.errors.js';
import { redisMessages } from './redis-token-store.messages.js';

/** The store's key names under one `keyPrefix`. */
export class RedisKeyLayout {
  /** The pub/sub channel: a plain PUBLISH reaches every node of a Cluster, so every instance hears it. */
  readonly channel: string;

  constructor(readonly prefix: string) {
    if (typeof prefix !== 'string' || prefix === '') throw new TokenCacheConfigError('keyPrefix', redisMessages.badKeyPrefix());
    // Redis hashes the whole key when its first `{` is followed at once by `}`: the slot would differ per role.
    const open = prefix.indexOf('{');
    if (open >= 0 && prefix[open + 1] === '}') throw new TokenCacheConfigError('keyPrefix', redisMessages.emptyHashTag());
    this.channel = `${prefix}events`;
  }

  /** `<prefix>{<key>}:token`: the token, expiring with it. */
  token(key: string): string {
    return this.of(key, 'token');
  }

  /** `<prefix>{<key>}:lock`: the cross-instance fetch lock (owner id, or `fail:<owner>` for a moment). */
  lock(key: string): string {
    return this.of(key, 'lock');
  }

  /** `<prefix>{<key>}:<role>`: a key of the same slot as `token(key)`, for other shared state (refresh tokens). */
  of(key: string, role: string): string {
    return `${this.prefix}{${escapeTag(key)}}:${role}`;
  }
}

/**
 * Braces would end the hash tag early (and `%` is escaped so the mapping stays one to one). The key format
 * of the cache never produces them except in user values, so keys stay readable.
 */
export function escapeTag(key: string): string {
  return /[{}%]/.test(key) ? key.replace(/[{}%]/g, encodeURIComponent) : key;
}

/** What Redis Cluster hashes for a key: the text between the first `{` and the next `}` when not empty, else the whole key. */
export function hashTagOf(redisKey: string): string {
  const open = redisKey.indexOf('{');
  if (open < 0) return redisKey;
  const close = redisKey.indexOf('}', open + 1);
  if (close < 0 || close === open + 1) return redisKey;
  return redisKey.slice(open + 1, close);
}
