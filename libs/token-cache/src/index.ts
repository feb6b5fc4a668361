// nestjs-token-cache: the Nest module. Everything of nestjs-token-cache/core is re-exported.
export * from './core/index.js';
export { TokenCacheModule } from './nest/token-cache.module.js';
export { TokenCacheService } from './nest/token-cache.service.js';
export { getTokenClientToken } from './nest/token-client.constants.js';
export { InjectTokenClient } from './nest/token-client.decorator.js';
export type { TokenClientOptions } from './nest/token-client-options.interface.js';
export { incomingBearerToken, IncomingRequestContextMiddleware, IncomingRequestContextModule } from './nest/incoming-request.context.js';
export { TOKEN_CACHE_CLEANUP_INTERVAL, TOKEN_CACHE_MODULE_OPTIONS } from './nest/token-cache.constants.js';
export {
  TOKEN_CACHE_ADMIN_DEFAULT_PATH,
  type TokenCacheAdminRemoval,
  type TokenCacheAdminStatus,
} from './nest/token-cache-admin.controller.js';
export type {
  TokenCacheAdminOptions,
  TokenCacheModuleExtras,
  TokenCacheModuleOptions,
  TokenCacheOptionsFactory,
} from './nest/token-cache-module-options.interface.js';
