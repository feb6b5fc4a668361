/**
 * `TokenCacheModule.forFeature`: a named client of its own. The default is an AxiosInstance (never the
 * process-wide default one) with the token interceptor attached in onModuleInit and ejected in
 * onModuleDestroy; with `client: 'fetch'` a `tokenFetch` function, made in onModuleInit.
 */
import { isDeepStrictEqual } from 'node:util';
import { Module, type DynamicModule, type OnModuleDestroy, type OnModuleInit, type Provider } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import axios, { type AxiosInstance } from 'axios';
import {
  attachTokenCache,
  TokenCacheConfigError,
  tokenFetch,
  type AttachTokenCacheOptions,
  type TokenFetch,
  type TokenFetchOptions,
} from '../core/index.js';
import { assertNonEmptyString, closestName, describeValue } from '../core/validate.js';
import { IncomingRequestContextModule, incomingBearerToken } from './incoming-request.context.js';
import { getTokenClientToken } from './token-client.constants.js';
import { tokenClientMessages } from './token-client.messages.js';
import type { AxiosTokenClientOptions, FetchTokenClientOptions, TokenClientOptions } from './token-client-options.interface.js';
import { TokenCacheService } from './token-cache.service.js';

/** The module class of every `forFeature` dynamic module; holds nothing itself. */
@Module({})
export class TokenClientModule {}

/** Connects one client to the cache for the life of its module: `install` returns what undoes it. */
class TokenClientLifecycle implements OnModuleInit, OnModuleDestroy {
  private eject?: () => void;

  constructor(
    private readonly name: string,
    private readonly install: (cache: TokenCacheService) => () => void,
    private readonly moduleRef: ModuleRef,
    private readonly cache: TokenCacheService | undefined,
  ) {}

  onModuleInit(): void {
    // Once, however often the module's hooks are reached.
    if (this.eject !== undefined) return;
    this.eject = this.install(this.resolveCache());
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
  if (options.client === undefined || options.client === 'axios') assertNoMisspeltAxiosOption(options);
  const known = modules.get(options.name);
  if (known !== undefined && isDeepStrictEqual(known.options, options)) return known.module;

  const { name, subjectToken } = options;
  const incoming = subjectToken === 'incoming';
  if (subjectToken !== undefined && !incoming && typeof subjectToken !== 'function') {
    throw new TokenCacheConfigError('subjectToken', tokenClientMessages.badSubjectToken(name));
  }
  const subjectTokenOption = subjectToken === undefined ? {} : { subjectToken: incoming ? incomingBearerToken : subjectToken };
  const clientToken = getTokenClientToken(name);
  const lifecycleToken = `${clientToken}:lifecycle`;
  const client = options.client ?? 'axios';
  let clientProvider: Provider;
  let install: (client: unknown) => (cache: TokenCacheService) => () => void;
  if (client === 'fetch') {
    const fetchOptions: TokenFetchOptions = { ...fetchClientOptions(options as FetchTokenClientOptions), ...subjectTokenOption };
    // The function exists from the start (it can be injected anywhere); it works from onModuleInit on.
    const holder: { fetch?: TokenFetch } = {};
    const notReady = new TokenCacheConfigError('forFeature', tokenClientMessages.fetchNotReady(name));
    const call: TokenFetch = (input, init) => (holder.fetch !== undefined ? holder.fetch(input, init) : Promise.reject(notReady));
    clientProvider = { provide: clientToken, useValue: call };
    install = () => (cache) => {
      holder.fetch = tokenFetch(cache, fetchOptions);
      return () => (holder.fetch = undefined);
    };
  } else if (client === 'axios') {
    const { name: _name, client: _client, source, subject, scopes, audience, resource, header, scheme, subjectToken: _subjectToken, ...axiosConfig } =
      options as AxiosTokenClientOptions;
    const attachOptions: AttachTokenCacheOptions = { source, subject, scopes, audience, resource, header, scheme, ...subjectTokenOption };
    clientProvider = { provide: clientToken, useFactory: () => axios.create(axiosConfig) };
    install = (instance) => (cache) => attachTokenCache(instance as AxiosInstance, cache, attachOptions);
  } else {
    throw new TokenCacheConfigError('client', tokenClientMessages.badClient(name, describeValue(client)));
  }
  const module: DynamicModule = {
    module: TokenClientModule,
    ...(incoming && { imports: [IncomingRequestContextModule] }),
    providers: [
      clientProvider,
      {
        provide: lifecycleToken,
        useFactory: (instance: unknown, moduleRef: ModuleRef, cache?: TokenCacheService) => new TokenClientLifecycle(name, install(instance), moduleRef, cache),
        inject: [clientToken, ModuleRef, { token: TokenCacheService, optional: true }],
      },
    ],
    exports: [clientToken],
  };
  modules.set(name, { options: { ...options }, module });
  return module;
}

/** The names of an axios forFeature client's own options. */
const AXIOS_CLIENT_KEYS = ['name', 'client', 'source', 'subject', 'scopes', 'audience', 'resource', 'subjectToken', 'header', 'scheme'];
/**
 * The `axios.create()` config names of axios 1.x (AxiosRequestConfig), and the package's own per-request
 * `skipTokenCache` / `tokenCache`. Names that are neither ours nor these pass through to axios untouched (a
 * newer axios may know them); only a near miss of one of them (`baseUrl`, `sorce`, `timout`) is refused.
 */
const AXIOS_CONFIG_KEYS = [
  'url', 'method', 'baseURL', 'allowAbsoluteUrls', 'transformRequest', 'transformResponse', 'headers', 'params', 'paramsSerializer', 'data',
  'timeout', 'timeoutErrorMessage', 'withCredentials', 'adapter', 'auth', 'responseType', 'responseEncoding', 'xsrfCookieName',
  'xsrfHeaderName', 'onUploadProgress', 'onDownloadProgress', 'maxContentLength', 'validateStatus', 'maxBodyLength', 'maxRedirects',
  'maxRate', 'beforeRedirect', 'socketPath', 'allowedSocketPaths', 'transport', 'httpAgent', 'httpsAgent', 'proxy', 'cancelToken',
  'decompress', 'transitional', 'signal', 'insecureHTTPParser', 'env', 'formSerializer', 'family', 'lookup', 'withXSRFToken',
  'parseReviver', 'fetchOptions', 'httpVersion', 'http2Options', 'sessionTimeout', 'formDataHeaderPolicy', 'redact', 'sensitiveHeaders',
  'skipTokenCache', 'tokenCache',
];
const AXIOS_KNOWN = new Set([...AXIOS_CLIENT_KEYS, ...AXIOS_CONFIG_KEYS]);

/** A name that is neither ours nor axios' but close to one of them is a typo: refused, naming what was meant. */
function assertNoMisspeltAxiosOption(options: TokenClientOptions): void {
  for (const key of Object.keys(options)) {
    if (AXIOS_KNOWN.has(key)) continue;
    const suggestion = closestName(key, [...AXIOS_KNOWN]);
    if (suggestion !== undefined) throw new TokenCacheConfigError(key, tokenClientMessages.misspeltAxiosOption(options.name, key, suggestion));
  }
}

/** The options of a fetch client, less `name`, `client` and `subjectToken`; any other key is a mistake (an axios option?) named at once. */
const FETCH_CLIENT_KEYS = new Set(['name', 'client', 'source', 'subject', 'scopes', 'audience', 'resource', 'subjectToken', 'header', 'scheme', 'fetch', 'baseURL']);

function fetchClientOptions(options: FetchTokenClientOptions): TokenFetchOptions {
  for (const key of Object.keys(options)) {
    if (!FETCH_CLIENT_KEYS.has(key)) throw new TokenCacheConfigError(key, tokenClientMessages.unknownFetchOption(options.name, key, closestName(key, [...FETCH_CLIENT_KEYS])));
  }
  const { name: _name, client: _client, subjectToken: _subjectToken, ...fetchOptions } = options;
  // Checked now (when the module is defined), not at the first request: a bad baseURL or fetch fails at once.
  tokenFetch({ getToken: () => Promise.reject(new Error('unused')), invalidate: () => Promise.resolve(false) }, fetchOptions);
  return fetchOptions;
}
