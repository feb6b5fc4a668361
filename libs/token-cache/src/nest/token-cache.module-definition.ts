import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { TokenCacheModuleExtras, TokenCacheModuleOptions } from './token-cache-module-options.interface.js';

export const TOKEN_CACHE_ADMIN_OPTIONS = Symbol('TOKEN_CACHE_ADMIN_OPTIONS');

export const {
  ConfigurableModuleClass: ConfigurableTokenCacheModule,
  MODULE_OPTIONS_TOKEN: TOKEN_CACHE_MODULE_OPTIONS,
  OPTIONS_TYPE: TOKEN_CACHE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: TOKEN_CACHE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<TokenCacheModuleOptions>({ moduleName: 'TokenCache' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createTokenCacheOptions')
  .setExtras<TokenCacheModuleExtras>({ isGlobal: true, admin: undefined }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal ?? true,
    providers: [...(definition.providers ?? []), { provide: TOKEN_CACHE_ADMIN_OPTIONS, useValue: extras.admin ?? {} }],
  }))
  .build();
