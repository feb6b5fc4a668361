import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { TokenCacheModuleExtras, TokenCacheModuleOptions } from './token-cache-module-options.interface.js';
import { TOKEN_CACHE_MODULE_OPTIONS as OPTIONS_TOKEN } from './token-cache.constants.js';
import { TokenCacheService } from './token-cache.service.js';
import { createTokenCacheAdminController, resolveAdminOptions } from './token-cache-admin.controller.js';

export const { ConfigurableModuleClass: ConfigurableTokenCacheModule } = new ConfigurableModuleBuilder<TokenCacheModuleOptions>({ moduleName: 'TokenCache', optionsInjectionToken: OPTIONS_TOKEN })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createTokenCacheOptions')
  .setExtras<TokenCacheModuleExtras>({ isGlobal: true, admin: undefined }, (definition, extras) => {
    const admin = resolveAdminOptions(extras.admin);
    return {
      ...definition,
      global: extras.isGlobal ?? true,
      // Opt-in admin routes: the controller is made here because routes are fixed when the module is defined.
      ...(admin.enabled && { controllers: [...(definition.controllers ?? []), createTokenCacheAdminController(admin)] }),
      // The service lives only in the forRoot/forRootAsync module, so a plain `imports: [TokenCacheModule]`
      // elsewhere adds nothing and every injection resolves to the one global instance.
      providers: [...(definition.providers ?? []), TokenCacheService],
      exports: [...(definition.exports ?? []), TokenCacheService],
    };
  })
  .build();
