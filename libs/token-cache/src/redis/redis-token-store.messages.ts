/** User-facing messages of the Redis store. None takes a token, a key or a password: only shapes and option names. */
import { messages } from '../core/token-cache.messages.js';

export const redisMessages = {
  badEncryptionKey: (got: string) =>
    messages.config(
      'encryptionKey',
      `expected 32 bytes: a Buffer of 32 bytes, 64 hex characters, or base64 of 32 bytes; got ${got}. ` +
        "Generate one with: node -e \"console.log(require('node:crypto').randomBytes(32).toString('base64'))\"",
    ),
  clientAndUrl: () =>
    messages.config('url', 'give either "client" (an ioredis instance you own) or "url" (the store opens its own connections), not both'),
  badOptions: () => messages.config('options', 'expected an object: new RedisTokenStore({ url }) or new RedisTokenStore({ client })'),
  badClient: () => messages.config('client', 'expected an ioredis Redis or Cluster instance (import { Redis, Cluster } from "ioredis")'),
  badUrl: () => messages.config('url', 'expected a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379'),
  badKeyPrefix: () => messages.config('keyPrefix', 'expected a non-empty string, e.g. "token-cache:"'),
  emptyHashTag: () =>
    messages.config('keyPrefix', 'its first "{" is followed by "}": an empty Redis Cluster hash tag would put a token and its lock in different slots'),
  storeClosed: () => 'The Redis token store was closed (the app is shutting down): no token is fetched through it any more.',
  exclusiveUnavailable: () =>
    'The fleet-wide lock could not be taken: Redis cannot be reached or did not answer within commandTimeoutMs. ' +
    'What needs it (spending a shared refresh token) is not done without it.',
  exclusiveBusy: () =>
    'The fleet-wide lock is still held by another instance after its fetch timeout and the lock TTL; ' +
    'what needs it (spending a shared refresh token) is not done without it.',
  peerFetchFailed: () =>
    'Another instance sharing this Redis failed to fetch this token just now; not retrying at once (the cache backs off, then tries again).',
} as const;
