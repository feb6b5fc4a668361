/** The `TokenRequest` a source gets: from a caller's parameters, or to renew an entry the cache holds. */
import { appendParams, normalizeScopes } from './cache-key.js';
import type { TokenParams, TokenRequest } from './token-cache.types.js';
import type { StoredToken } from './token-store.interface.js';
import { TokenCacheConfigError } from './token-cache.errors.js';
import { messages } from './token-cache.messages.js';
import { assertTokenParams } from './token-params.js';

/** The request for checked `params`: empty strings and empty scope lists are left out, scopes sorted. */
export function toRequest(source: string, params: TokenParams | undefined): TokenRequest {
  if (params === undefined) return { source };
  const scopes = normalizeScopes(params.scopes);
  return {
    source,
    ...(params.subject !== undefined && params.subject !== '' && { subject: params.subject }),
    ...(scopes !== undefined && { scopes }),
    ...(params.audience !== undefined && params.audience !== '' && { audience: params.audience }),
    ...(params.resource !== undefined && params.resource !== '' && { resource: params.resource }),
    ...(params.subjectToken !== undefined && params.subjectToken !== '' && { subjectToken: params.subjectToken }),
  };
}

/**
 * The request of a caller's `params` for the `key` the memo gave them, read from `params` once more: a getter
 * that answers differently than it did for the key is refused (TokenCacheConfigError naming `params`), so no
 * token is ever filed under another parameter set's key. `sourceKey` is the source's parameterless key.
 */
export function requestFor(sourceKey: string, key: string, source: string, params: TokenParams | undefined): TokenRequest {
  const request = toRequest(source, params);
  if (params !== undefined && appendParams(sourceKey, request) !== key) {
    throw new TokenCacheConfigError('params', messages.badParams('', 'params', 'answered differently on a second read (a getter or Proxy): pass a plain object of strings'));
  }
  return request;
}

/**
 * The request that renews a held entry: its key's parameters as stored, and the subject token of the caller
 * that found it due (an entry never keeps one), when given.
 */
export function renewRequest(token: StoredToken, subjectToken?: string): TokenRequest {
  return {
    source: token.source,
    subject: token.subject,
    scopes: token.requestedScopes,
    audience: token.audience,
    resource: token.resource,
    ...(subjectToken !== undefined && subjectToken !== '' && { subjectToken }),
  };
}

/** The key of checked parameters: the key memo calls this on each miss, so a remembered parameter set is checked once. */
export function checkedKey(sourceKey: string, params: TokenParams): string {
  assertTokenParams(params, '');
  return appendParams(sourceKey, params);
}
