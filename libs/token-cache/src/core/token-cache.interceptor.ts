/**
 * The Axios interceptor: puts a cached token on every request and, when the API rejects it, invalidates
 * exactly that token (compare-and-invalidate) and retries once with a fresh one.
 *
 * `import type` only: token-cache.ts imports this file at runtime for `attach()`, so a runtime import back
 * would make a cycle. Axios itself is not imported either: everything needed is on the config and the instance.
 */
import type { AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import type { TokenCache } from './token-cache.js';
import type { TokenCacheRequestOptions } from './token-cache.axios.js';
import { TokenCacheConfigError } from './token-cache.errors.js';
import { interceptorMessages } from './token-cache.interceptor.messages.js';
import { headerPrefix, isReplayableBody, isTokenRejected, sentToken } from './token-cache.interceptor-rules.js';
import { messages } from './token-cache.messages.js';
import type { TokenParams } from './token-cache.types.js';
import { resolveSubjectToken, type SubjectTokenOption } from './subject-token.js';
import { assertNonEmptyString, assertOptionalString, describeValue } from './validate.js';

/** Options of `attach()` / `attachTokenCache()` / `TokenCacheModule.forFeature()`. */
export interface AttachTokenCacheOptions {
  /** The name of the cache source the token comes from (a key of `sources`). Required. */
  source: string;
  /** Who the token is for; part of the cache key. Default none. */
  subject?: string;
  /** Scopes to ask for; part of the cache key (sorted, de-duplicated). Default the source's. */
  scopes?: string[];
  /** Audience to ask for; part of the cache key. Default the source's. */
  audience?: string;
  /** RFC 8707 resource indicator; part of the cache key. Default the source's. */
  resource?: string;
  /**
   * For a `tokenExchange` source: the subject token of every request, or a function returning it per request
   * (e.g. from your request context); a function returning nothing fails that request with a
   * TokenCacheConfigError naming `subjectToken`, and nothing is sent. `config.tokenCache.subjectToken` wins.
   */
  subjectToken?: SubjectTokenOption;
  /** The request header that carries the token. Default `'Authorization'`. */
  header?: string;
  /** The scheme before the token in that header; `''` sends the bare token. Default `'Bearer'`. */
  scheme?: string;
}

/** What `attach()` accepts: an `AxiosInstance`, or anything holding one as `axiosRef` (`@nestjs/axios`' `HttpService`). */
export type TokenCacheAttachTarget = AxiosInstance | { readonly axiosRef: AxiosInstance };

/** The part of the cache the interceptor uses; a `TokenCache` or `TokenCacheService`. */
export type TokenCacheLike = Pick<TokenCache, 'getToken' | 'invalidate'> & Partial<Pick<TokenCache, 'peek' | 'warmToken'>>;

/**
 * Per-request bookkeeping, carried on the config under a string key so it survives axios' `mergeConfig`
 * (older axios versions drop symbol keys). A class instance is passed through `mergeConfig` by reference.
 */
const ATTEMPT = '__tokenCacheAttempt';

class Attempt {
  constructor(
    /** The attachment that put the token on the request: another attachment's header counts as explicit. */
    readonly owner: object,
    readonly params: TokenParams | undefined,
    /** True on the one retry: a second rejection goes back to the caller untouched. */
    readonly retried: boolean,
  ) {}
}

type Config = InternalAxiosRequestConfig & { [ATTEMPT]?: unknown };
type Headers = Config['headers'] | Record<string, unknown> | undefined;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Installs the request and response interceptors on `target`; returns a function that ejects both.
 * Other interceptors on the instance are untouched.
 */
export function attachTokenCache(target: TokenCacheAttachTarget, cache: TokenCacheLike, options: AttachTokenCacheOptions): () => void {
  const instance = resolveInstance(target);
  if (cache === null || typeof cache !== 'object' || typeof cache.getToken !== 'function' || typeof cache.invalidate !== 'function') {
    throw new TokenCacheConfigError('cache', interceptorMessages.badCache(describeValue(cache)));
  }
  const { source, header, prefix, params: baseParams } = resolveOptions(options);
  const subjectTokenOption = typeof options.subjectToken === 'function' ? options.subjectToken : undefined;
  // Fail at attach time (bootstrap), not on the first request, when the source does not exist.
  cache.peek?.(source, baseParams);

  const owner = {};

  const withToken = (config: Config, attempt: Attempt, token: string): Config => {
    setHeader(config, header, prefix + token);
    config[ATTEMPT] = attempt;
    return config;
  };
  // Not async: with a warm token the request goes on without waiting a turn; only a fetch is awaited.
  const onRequest = (config: Config): Config | Promise<Config> => {
    const previous = config[ATTEMPT];
    let attempt: Attempt;
    if (previous instanceof Attempt && previous.owner === owner) {
      // Our own retry (or a re-sent config): replace the old token with the current one.
      attempt = previous;
    } else {
      if (hasHeader(config.headers, header)) return config;
      let params = paramsFor(baseParams, config.tokenCache);
      if (subjectTokenOption !== undefined && params?.subjectToken === undefined) {
        params = { ...params, subjectToken: resolveSubjectToken(subjectTokenOption, source) };
      }
      attempt = new Attempt(owner, params, false);
    }
    const warm = cache.warmToken?.(source, attempt.params);
    if (warm !== undefined) return withToken(config, attempt, warm);
    return cache.getToken(source, attempt.params).then((token) => withToken(config, attempt, token));
  };

  /** A rejected token: invalidate exactly it, then retry once. Undefined when the reply goes to the caller as is. */
  const retryAfterRejection = async (config: Config | undefined, response: AxiosResponse | undefined): Promise<AxiosResponse | undefined> => {
    if (config === undefined || response === undefined) return undefined;
    const attempt = config[ATTEMPT];
    if (!(attempt instanceof Attempt) || attempt.owner !== owner || attempt.retried) return undefined;
    if (!isTokenRejected(response.status, getHeader(response.headers as Headers, 'www-authenticate'))) return undefined;
    const sent = sentToken(getHeader(config.headers, header), prefix);
    if (sent === undefined) return undefined;
    try {
      // Compare-and-invalidate: a late 401 for a token already replaced changes nothing, so the retry
      // below gets the new token from the cache, and many 401s for one token make one fetch.
      await cache.invalidate(source, attempt.params, sent);
    } catch {
      // A store that can't be reached: the retry below still asks the cache, which reports its own errors.
    }
    if (!isReplayableBody(config.data)) return undefined;
    const retry = { ...config, [ATTEMPT]: new Attempt(owner, attempt.params, true) };
    return instance.request(retry);
  };

  const requestId = instance.interceptors.request.use(onRequest, undefined, {
    runWhen: (config) => config.skipTokenCache !== true,
  });
  const responseId = instance.interceptors.response.use(
    (response) => {
      // validateStatus may let a 401 through as a success, and an invalid_token challenge may come with any
      // status: only a reply with neither skips the retry check (two cheap tests on the hot path).
      if (response.status < 400 && (response.headers as Record<string, unknown> | undefined)?.['www-authenticate'] === undefined) {
        return response;
      }
      return retryAfterRejection(response.config as Config, response).then((retried) => retried ?? response);
    },
    async (error: unknown) => {
      const e = error as { isAxiosError?: boolean; config?: Config; response?: AxiosResponse };
      if (e === null || typeof e !== 'object' || e.isAxiosError !== true) throw error;
      const retried = await retryAfterRejection(e.config, e.response);
      if (retried === undefined) throw error;
      return retried;
    },
  );

  let ejected = false;
  return () => {
    if (ejected) return;
    ejected = true;
    instance.interceptors.request.eject(requestId);
    instance.interceptors.response.eject(responseId);
  };
}

function resolveInstance(target: TokenCacheAttachTarget): AxiosInstance {
  const candidate =
    target !== null && (typeof target === 'object' || typeof target === 'function') && 'axiosRef' in target
      ? (target as { axiosRef: AxiosInstance }).axiosRef
      : (target as AxiosInstance);
  const interceptors = (candidate as Partial<AxiosInstance> | undefined)?.interceptors;
  if (typeof candidate?.request !== 'function' || typeof interceptors?.request?.use !== 'function' || typeof interceptors.response?.use !== 'function') {
    throw new TokenCacheConfigError('instance', interceptorMessages.badTarget(describeValue(target)));
  }
  return candidate;
}

function resolveOptions(options: AttachTokenCacheOptions): { source: string; header: string; prefix: string; params: TokenParams | undefined } {
  if (options === null || typeof options !== 'object') {
    throw new TokenCacheConfigError('source', messages.config('source', `expected options like { source: 'billing' }, got ${describeValue(options)}`));
  }
  assertNonEmptyString('source', options.source);
  assertOptionalString('subject', options.subject);
  assertOptionalString('audience', options.audience);
  assertOptionalString('resource', options.resource);
  if (typeof options.subjectToken !== 'function') assertOptionalString('subjectToken', options.subjectToken);
  assertScopes('scopes', options.scopes);
  const header = options.header ?? 'Authorization';
  if (typeof header !== 'string' || !HEADER_NAME.test(header)) {
    throw new TokenCacheConfigError('header', messages.config('header', `expected an HTTP header name such as 'Authorization', got ${describeValue(header)}`));
  }
  const scheme = options.scheme ?? 'Bearer';
  if (typeof scheme !== 'string' || (scheme !== '' && !HEADER_NAME.test(scheme))) {
    throw new TokenCacheConfigError('scheme', messages.config('scheme', `expected a scheme such as 'Bearer' (or '' for the bare token), got ${describeValue(scheme)}`));
  }
  return { source: options.source, header, prefix: headerPrefix(scheme), params: pickParams(options) };
}

function assertScopes(option: string, scopes: unknown): void {
  if (scopes === undefined || typeof scopes === 'string') return;
  if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== 'string')) {
    throw new TokenCacheConfigError(option, messages.config(option, `expected an array of scope strings, got ${describeValue(scopes)}`));
  }
}

/** The key fields that are set; undefined when none, so the cache's precomputed plain key is used. */
function pickParams(from: Omit<TokenCacheRequestOptions, 'subjectToken'> & { subjectToken?: unknown }): TokenParams | undefined {
  let params: TokenParams | undefined;
  if (from.subject !== undefined) (params ??= {}).subject = from.subject;
  if (from.scopes !== undefined) (params ??= {}).scopes = from.scopes;
  if (from.audience !== undefined) (params ??= {}).audience = from.audience;
  if (from.resource !== undefined) (params ??= {}).resource = from.resource;
  if (typeof from.subjectToken === 'string') (params ??= {}).subjectToken = from.subjectToken;
  return params;
}

function paramsFor(base: TokenParams | undefined, perRequest: unknown): TokenParams | undefined {
  if (perRequest === undefined || perRequest === null) return base;
  if (typeof perRequest !== 'object' || Array.isArray(perRequest)) {
    throw new TokenCacheConfigError('tokenCache', interceptorMessages.badRequestOptions(describeValue(perRequest)));
  }
  const own = pickParams(perRequest as TokenCacheRequestOptions);
  if (own === undefined) return base;
  // Checked like attach()'s: an object subject would become "[object Object]" and share a key with others.
  assertOptionalString('tokenCache.subject', own.subject);
  assertOptionalString('tokenCache.audience', own.audience);
  assertOptionalString('tokenCache.resource', own.resource);
  assertOptionalString('tokenCache.subjectToken', own.subjectToken);
  assertScopes('tokenCache.scopes', own.scopes);
  return { ...base, ...own };
}

// Headers are an AxiosHeaders by the time interceptors run, unless another interceptor swapped in a plain
// object: both shapes are handled, names compared case-insensitively.

function hasHeader(headers: Headers, name: string): boolean {
  return getHeader(headers, name) !== undefined;
}

function getHeader(headers: Headers, name: string): unknown {
  if (headers === undefined || headers === null) return undefined;
  const h = headers as { get?: (name: string) => unknown; has?: (name: string) => boolean };
  if (typeof h.get === 'function' && typeof h.has === 'function') return h.has(name) ? h.get(name) : undefined;
  const lower = name.toLowerCase();
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === lower) {
      const value = (headers as Record<string, unknown>)[key];
      if (value !== undefined) return value;
    }
  }
  return undefined;
}

function setHeader(config: Config, name: string, value: string): void {
  const headers = config.headers as Headers;
  const h = headers as { set?: (name: string, value: string) => unknown } | undefined;
  if (h !== undefined && h !== null && typeof h.set === 'function') {
    h.set(name, value);
    return;
  }
  const plain: Record<string, unknown> = { ...(headers as Record<string, unknown> | undefined) };
  for (const key of Object.keys(plain)) if (key.toLowerCase() === name.toLowerCase()) delete plain[key];
  plain[name] = value;
  config.headers = plain as never;
}
