/**
 * The Lua scripts of the Redis store: each is one atomic step, so no other instance can slip in between a
 * check and the write that depends on it. Values are `<fingerprint>|<payload>` (see redis-token-codec.ts).
 */
import { createHash } from 'node:crypto';

export interface LuaScript {
  readonly lua: string;
  readonly sha: string;
  readonly keys: number;
}

function script(keys: number, lua: string): LuaScript {
  return { lua, keys, sha: createHash('sha1').update(lua).digest('hex') };
}

const FINGERPRINT_OF_VALUE = `
local function fingerprint(v)
  if not v then return '' end
  local at = string.find(v, '|', 1, true)
  if not at then return '' end
  return string.sub(v, 1, at - 1)
end
`;

export const scripts = {
  /**
   * Compare-and-delete. KEYS: token. ARGV: fingerprint ('' = unconditional), channel, message.
   * Deletes only when the stored token is the one named, so a newer token another instance stored survives.
   * Publishes either way: an instance may hold the named token in memory although Redis no longer does
   * (evicted by Redis, or Redis restarted), and each instance drops only that token (by fingerprint).
   */
  deleteToken: script(
    1,
    `${FINGERPRINT_OF_VALUE}
redis.call('PUBLISH', ARGV[2], ARGV[3])
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
if ARGV[1] ~= '' and fingerprint(v) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1`,
  ),

  /**
   * Stores a token that expires with it (SET … PX: the key never exists without a TTL, even for a moment),
   * releases the fetch lock if we hold it, and tells the others.
   * KEYS: token, lock. ARGV: value, ttl ms, lock owner ('' = none), channel, message.
   */
  storeToken: script(
    2,
    `redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1`,
  ),

  /**
   * Shares a token only if Redis has none for the key (after a Redis restart); else returns the value
   * there, for the caller to use instead. KEYS: token. ARGV: value, ttl ms, channel, message.
   */
  storeTokenIfAbsent: script(
    1,
    `local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`,
  ),

  /**
   * Compare-and-set: stores a token only if the value there is still the one the caller read (by fingerprint,
   * '' = none), so a token another instance wrote meanwhile is never overwritten by an older one.
   * KEYS: token. ARGV: fingerprint read, value, ttl ms, channel, message. Returns 1 if stored.
   */
  replaceToken: script(
    1,
    `${FINGERPRINT_OF_VALUE}
if fingerprint(redis.call('GET', KEYS[1])) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1`,
  ),

  /**
   * Takes the fetch lock unless the token changed since the caller read it (then the caller looks again
   * instead of fetching twice). A lock left as `fail:…` by failLock is free, except to a caller that was
   * waiting for that fetch: it gives up instead of fetching in turn. KEYS: token, lock. ARGV: fingerprint
   * read ('' = none), owner, ttl ms, '1' when the caller was waiting for another holder.
   * Returns 0 = token changed, 1 = lock taken, 2 = lock held by another instance, 3 = the awaited fetch failed.
   */
  acquireLock: script(
    2,
    `${FINGERPRINT_OF_VALUE}
if fingerprint(redis.call('GET', KEYS[1])) ~= ARGV[1] then return 0 end
local held = redis.call('GET', KEYS[2])
if held and string.sub(held, 1, 5) == 'fail:' then
  if ARGV[4] == '1' then return 3 end
  held = false
end
if held then return 2 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1`,
  ),

  /**
   * The holder's fetch failed: marks the lock `fail:<owner>` for a short while (a waiter polling Redis just
   * then learns it even if the pub/sub notice is late) and tells the waiters. KEYS: lock. ARGV: owner,
   * marker ttl ms, channel, message.
   */
  failLock: script(
    1,
    `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], 'fail:' .. ARGV[1], 'PX', ARGV[2])
  redis.call('PUBLISH', ARGV[3], ARGV[4])
  return 1
end
return 0`,
  ),

  /**
   * The holder is still fetching: extends its lock's TTL, only while it is still its own (never revives
   * or steals a lock that expired and went to another instance). KEYS: lock. ARGV: owner, ttl ms. 1 if renewed.
   */
  renewLock: script(
    1,
    `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`,
  ),

  /** Releases the lock only for its holder. KEYS: lock. ARGV: owner, channel ('' = tell nobody), message. */
  releaseLock: script(
    1,
    `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  if ARGV[2] ~= '' then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
  return 1
end
return 0`,
  ),
} as const;
