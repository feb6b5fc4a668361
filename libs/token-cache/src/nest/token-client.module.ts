/**
 * `TokenCacheModule.forFeature`: a named AxiosInstance of its own (never the process-wide default one) with
 * the token interceptors attached in onModuleInit and ejected in onModuleDestroy.
 */
import { isDeepStrictEqual } from 'node:util';
import { Module, type DynamicModule, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import axios, { type AxiosInstance } from 'axios';
import { attachTokenCache, TokenCacheConfigError, type AttachTokenCacheOptions } from '../core/index.js';
import { assertNonEmptyString } from '../core/validate.js';
import { IncomingRequestContextModule, incomingBearerToken } from './incoming-request.context.js';
import { getTokenClientToken } from './token-client.constants.js';
import { tokenClientMessages } from './token-client.messages.js';
import type { TokenClientOptions } from './token-client-options.interface.js';
import { TokenCacheService } from './token-cache.service.js';

/** The module class of every `forFeature` dynamic module; holds nothing itself. */
@Module({})
export class TokenClientModule {}

/** Attaches the interceptors to one client for the life of its module. */
class TokenClientLifecycle implements OnModuleInit, OnModuleDestroy {
  private eject?: () => void;

  constructor(
    private readonly name: string,
    private readonly client: AxiosInstance,
    private readonly attachOptions: AttachTokenCacheOptions,
    private readonly moduleRef: ModuleRef,
    private readonly cache: TokenCacheService | undefined,
  ) {}

  onModuleInit(): void {
    // Once, however often the module's hooks are reached.
    if (this.eject !== undefined) return;
    this.eject = attachTokenCache(this.client, this.resolveCache(), this.attachOptions);
  }

  onModuleDestroy(): void {
    this.eject?.();
    this.eject = undefined;
  }

  /** The global TokenCacheService is injected; with isGlobal: false it is looked up app-wide instead. */
  private resolveCache(): TokenCacheService {
    if (this.cache !== undefined) return this.cache;
    try {
      return this.moduleRef.get(TokenCacheService, { strict: false });
    } catch {
      throw new TokenCacheConfigError('forFeature', tokenClientMessages.noCache(this.name));
    }
  }
}

/**
 * One dynamic module per distinct `options`: importing `forFeature` with equal options in several modules
 * yields the same module object, so Nest (which tells dynamic modules apart by reference) makes one client
 * and attaches the interceptors once.
 */
const modules = new Map<string, { options: TokenClientOptions; module: DynamicModule }>();

export function createTokenClientModule(options: TokenClientOptions): DynamicModule {
  if (options === null || typeof options !== 'object') {
    throw new TokenCacheConfigError('name', tokenClientMessages.badOptions());
  }
  assertNonEmptyString('name', options.name);
  assertNonEmptyString('source', options.source);
  const known = modules.get(options.name);
  if (known !== undefined && isDeepStrictEqual(known.options, options)) return known.module;

  const { name, source, subject, scopes, audience, resource, header, scheme, subjectToken, ...axiosConfig } = options;
  const incoming = subjectToken === 'incoming';
  if (subjectToken !== undefined && !incoming && typeof subjectToken !== 'function') {
    throw new TokenCacheConfigError('subjectToken', tokenClientMessages.badSubjectToken(name));
  }
  const attachOptions: AttachTokenCacheOptions = {
    source,
    subject,
    scopes,
    audience,
    resource,
    header,
    scheme,
    ...(subjectToken !== undefined && { subjectToken: incoming ? incomingBearerToken : subjectToken }),
  };
  const clientToken = getTokenClientToken(name);
  const lifecycleToken = `${clientToken}:lifecycle`;
  const module: DynamicModule = {
    module: TokenClientModule,
    ...(incoming && { imports: [IncomingRequestContextModule] }),
    providers: [
      { provide: clientToken, useFactory: () => axios.create(axiosConfig) },
      {
        provide: lifecycleToken,
        useFactory: (client: AxiosInstance, moduleRef: ModuleRef, cache?: TokenCacheService) =>
          new TokenClientLifecycle(name, client, attachOptions, moduleRef, cache),
        inject: [clientToken, ModuleRef, { token: TokenCacheService, optional: true }],
      },
    ],
    exports: [clientToken],
  };
  modules.set(name, { options: { ...options }, module });
  return module;
}
