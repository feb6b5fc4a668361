// nestjs-token-cache/health: the terminus health indicator. The only entry point that imports @nestjs/terminus.
export {
  TokenCacheHealthIndicator,
  type TokenCacheHealthDetails,
  type TokenCacheHealthOptions,
  type TokenCacheSourceHealth,
} from './token-cache.health.js';
