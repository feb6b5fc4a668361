import { TokenCacheConfigError, TokenFetchError } from '../token-cache.errors.js';
import { messages } from '../token-cache.messages.js';
import { subjectTokenExpiresAt } from '../subject-token.js';
import type { TokenRequest } from '../token-cache.types.js';
import { assertOptionalString, assertOptionsObject, describeValue } from '../validate.js';
import { TOKEN_EXCHANGE_OPTION_NAMES } from './source-options.js';
import { OAuthGrantClient, parseScopeOption, type OAuthClientOptions } from './oauth-grant.js';
import type { TokenSource } from './token-source.interface.js';
import { sourceMessages } from './token-sources.messages.js';

/** RFC 8693 §3 token type identifiers most IdPs use. */
export const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_EXCHANGE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';

export interface TokenExchangeOptions extends OAuthClientOptions {
  /** `subject_token_type` of every subject token. Default `urn:ietf:params:oauth:token-type:access_token`. */
  subjectTokenType?: string;
  /** `requested_token_type`; default none (the IdP's default, usually an access token). */
  requestedTokenType?: string;
  /**
   * RFC 8693 §2.1 `actor_token` (delegation: who acts for the subject): a string, or a function called for
   * every exchange (e.g. this service's own token from another source). Redacted from every message.
   */
  actorToken?: string | (() => string | Promise<string>);
  /** `actor_token_type`; default `urn:ietf:params:oauth:token-type:access_token` when `actorToken` is set. */
  actorTokenType?: string;
  /** Default scopes: a space-separated string or an array. A request's `scopes` replace them. */
  scope?: string | string[];
  /** Default `audience` (the downstream API). A request's `audience` replaces it. */
  audience?: string;
  /** Default RFC 8707 `resource`. A request's `resource` replaces it. */
  resource?: string;
}

/**
 * OAuth 2 token exchange (RFC 8693), the on-behalf-of flow: the caller's own token (`subjectToken`, given
 * with each request: `getToken('obo', { subjectToken, audience })`) is exchanged for one to call a downstream
 * API as that caller. One exchanged token per (subject token, audience, scopes, resource): the cache key holds
 * a SHA-256 of the subject token, never the token. When the subject token is a JWT with `exp`, the exchanged
 * token is not used past it, and an expired subject token is not sent. A request without `subjectToken`
 * rejects with TokenCacheConfigError naming `subjectToken`, and nothing is sent.
 */
export function tokenExchange(options: TokenExchangeOptions): TokenSource {
  assertOptionsObject('tokenExchange', options, TOKEN_EXCHANGE_OPTION_NAMES);
  const defaultMethod =
    options !== null && typeof options === 'object' && typeof options.clientSecret === 'string' && options.clientSecret !== ''
      ? 'client_secret_basic'
      : 'none';
  const client = new OAuthGrantClient('tokenExchange', options, defaultMethod, undefined, {
    grantOptions: ['subjectTokenType', 'requestedTokenType', 'actorToken', 'actorTokenType', 'scope', 'audience', 'resource'],
  });
  assertOptionalString('tokenExchange.subjectTokenType', options.subjectTokenType);
  assertOptionalString('tokenExchange.requestedTokenType', options.requestedTokenType);
  assertOptionalString('tokenExchange.actorTokenType', options.actorTokenType);
  assertOptionalString('tokenExchange.audience', options.audience);
  assertOptionalString('tokenExchange.resource', options.resource);
  const actor = options.actorToken;
  if (actor !== undefined && typeof actor !== 'function' && (typeof actor !== 'string' || actor.trim() === '')) {
    throw new TokenCacheConfigError(
      'tokenExchange.actorToken',
      messages.config('tokenExchange.actorToken', `expected a string or a function returning one, got ${describeValue(actor)}`),
    );
  }
  if (options.actorTokenType !== undefined && actor === undefined) {
    throw new TokenCacheConfigError('tokenExchange.actorTokenType', messages.config('tokenExchange.actorTokenType', 'needs "actorToken"'));
  }
  const defaults = {
    scopes: parseScopeOption('tokenExchange.scope', options.scope),
    audience: options.audience,
    resource: options.resource,
  };
  const subjectTokenType = options.subjectTokenType ?? TOKEN_TYPE_ACCESS_TOKEN;
  const fixedSecrets = typeof actor === 'string' ? [actor] : [];

  return {
    kind: 'token_exchange',
    timeoutMs: client.timeoutMs,
    ...(client.dpop && { dpopKey: client.dpop.key }),
    secrets: () => [...client.secrets(), ...fixedSecrets],
    close: () => client.close(),
    async fetchToken(request: TokenRequest, context) {
      const source = request.source;
      const subjectToken = request.subjectToken;
      if (typeof subjectToken !== 'string' || subjectToken === '') {
        throw new TokenCacheConfigError('subjectToken', messages.noSubjectToken(source));
      }
      const exp = subjectTokenExpiresAt(subjectToken);
      if (exp !== undefined && exp <= context.clock.now()) {
        throw new TokenFetchError(sourceMessages.subjectTokenExpired(source), { source, retryable: false });
      }
      const params = client.params(request, defaults);
      params.set('subject_token', subjectToken);
      params.set('subject_token_type', subjectTokenType);
      if (options.requestedTokenType !== undefined) params.set('requested_token_type', options.requestedTokenType);
      const secrets = [subjectToken];
      if (actor !== undefined) {
        const actorToken = typeof actor === 'string' ? actor : await callActor(actor, source);
        secrets.push(actorToken);
        params.set('actor_token', actorToken);
        params.set('actor_token_type', options.actorTokenType ?? TOKEN_TYPE_ACCESS_TOKEN);
      }
      const { refreshToken: _unused, ...token } = await client.grant(TOKEN_EXCHANGE_GRANT_TYPE, params, request, context, secrets);
      return token;
    },
  };
}

async function callActor(actor: () => string | Promise<string>, source: string): Promise<string> {
  let value: unknown;
  try {
    value = await actor();
  } catch (error) {
    const detail = error instanceof Error ? error.name : 'Error';
    throw new TokenFetchError(sourceMessages.assertionFunctionFailed(source, 'tokenExchange.actorToken', detail), { source, retryable: true });
  }
  if (typeof value !== 'string' || value === '') {
    throw new TokenFetchError(sourceMessages.assertionBadValue(source, 'tokenExchange.actorToken', describeValue(value)), { source, retryable: false });
  }
  return value;
}
