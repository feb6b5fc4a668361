// nestjs-token-cache/redis: a token store shared by many app instances. The only entry point that imports ioredis.
export { RedisTokenStore, type RedisTokenStoreOptions } from './redis-token-store.js';
