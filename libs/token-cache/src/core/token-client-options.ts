/** The options both HTTP clients (axios `attach`, `tokenFetch`) share: which token, in which header; checked once. */
import type { TokenCacheRequestOptions } from './token-cache.axios.js';
import { TokenCacheConfigError } from './token-cache.errors.js';
import { interceptorMessages } from './token-cache.interceptor.messages.js';
import { messages } from './token-cache.messages.js';
import type { TokenParams } from './token-cache.types.js';
import { resolveSubjectToken, type SubjectTokenOption } from './subject-token.js';
import { headerPresentation, type TokenPresentation } from './token-retry.js';
import { assertKnownOptions, assertNonEmptyString, assertOptionalString, describeValue, optionNames } from './validate.js';

/** Which token a client's requests carry, and how. */
export interface TokenClientKeyOptions {
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
   * TokenCacheConfigError naming `subjectToken`, and nothing is sent. `tokenCache.subjectToken` of a request wins.
   */
  subjectToken?: SubjectTokenOption;
  /** The request header that carries the token. Default `'Authorization'`. */
  header?: string;
  /** The scheme before the token in that header; `''` sends the bare token. Default `'Bearer'`. */
  scheme?: string;
}

export interface ResolvedClientOptions {
  source: string;
  /** The header that carries the token (as configured, for `has`/`set`). */
  header: string;
  presentation: TokenPresentation;
  /** The key fields of the options; undefined when none, so the cache's precomputed plain key is used. */
  params: TokenParams | undefined;
  /** The per-request subject token function, when `subjectToken` is one. */
  subjectTokenFn: (() => string | undefined) | undefined;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The option names of `attach()` / `attachTokenCache()`. */
export const ATTACH_OPTION_NAMES = optionNames<TokenClientKeyOptions>()('source', 'subject', 'scopes', 'audience', 'resource', 'subjectToken', 'header', 'scheme');
/** The fields of a request's `tokenCache` option (axios config, `tokenFetch` init). */
const REQUEST_OPTION_NAMES = optionNames<TokenCacheRequestOptions>()('subject', 'scopes', 'audience', 'resource', 'subjectToken');

/**
 * Checks a client's options; throws `TokenCacheConfigError` naming the bad one, or an unknown name (with a
 * did-you-mean). `known`: the option names of the client (`attach`'s by default; `tokenFetch` adds its own).
 */
export function resolveClientOptions(options: TokenClientKeyOptions, known: readonly string[] = ATTACH_OPTION_NAMES): ResolvedClientOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TokenCacheConfigError('source', messages.config('source', `expected options like { source: 'billing' }, got ${describeValue(options)}`));
  }
  assertKnownOptions(options, known);
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
  return {
    source: options.source,
    header,
    presentation: headerPresentation(header, scheme),
    params: pickParams(options),
    subjectTokenFn: typeof options.subjectToken === 'function' ? options.subjectToken : undefined,
  };
}

function assertScopes(option: string, scopes: unknown): void {
  if (scopes === undefined || typeof scopes === 'string') return;
  if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== 'string')) {
    throw new TokenCacheConfigError(option, messages.config(option, `expected an array of scope strings, got ${describeValue(scopes)}`));
  }
}

/** The key fields that are set, copied (a caller mutating its options later changes nothing); undefined when none. */
function pickParams(from: Omit<TokenCacheRequestOptions, 'subjectToken'> & { subjectToken?: unknown }): TokenParams | undefined {
  let params: TokenParams | undefined;
  if (from.subject !== undefined) (params ??= {}).subject = from.subject;
  if (from.scopes !== undefined) (params ??= {}).scopes = Array.isArray(from.scopes) ? [...from.scopes] : from.scopes;
  if (from.audience !== undefined) (params ??= {}).audience = from.audience;
  if (from.resource !== undefined) (params ??= {}).resource = from.resource;
  if (typeof from.subjectToken === 'string') (params ??= {}).subjectToken = from.subjectToken;
  return params;
}

/**
 * The key of one request: the client's, with each field of the per-request `tokenCache` option replacing
 * the client's. Throws `TokenCacheConfigError` naming `tokenCache` (or the bad field).
 */
export function requestParams(client: ResolvedClientOptions, perRequest: unknown): TokenParams | undefined {
  const params = ownRequestParams(client.params, perRequest);
  if (client.subjectTokenFn === undefined || params?.subjectToken !== undefined) return params;
  return { ...params, subjectToken: resolveSubjectToken(client.subjectTokenFn, client.source) };
}

function ownRequestParams(base: TokenParams | undefined, perRequest: unknown): TokenParams | undefined {
  if (perRequest === undefined || perRequest === null) return base;
  if (typeof perRequest !== 'object' || Array.isArray(perRequest)) {
    throw new TokenCacheConfigError('tokenCache', interceptorMessages.badRequestOptions(describeValue(perRequest)));
  }
  // A misspelt field (`tokenCache.subjet`) would silently pick the client's key: another user's token.
  assertKnownOptions(perRequest, REQUEST_OPTION_NAMES, 'tokenCache.');
  assertOptionalString('tokenCache.subjectToken', (perRequest as { subjectToken?: unknown }).subjectToken);
  const own = pickParams(perRequest as TokenCacheRequestOptions);
  if (own === undefined) return base;
  // An object subject would become "[object Object]" and share a key with others.
  assertOptionalString('tokenCache.subject', own.subject);
  assertOptionalString('tokenCache.audience', own.audience);
  assertOptionalString('tokenCache.resource', own.resource);
  assertScopes('tokenCache.scopes', own.scopes);
  return { ...base, ...own };
}
