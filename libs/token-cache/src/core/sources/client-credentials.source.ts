import { assertOptionalString } from '../validate.js';
import { OAuthGrantClient, parseScopeOption, type OAuthClientOptions } from './oauth-grant.js';
import type { TokenSource } from './token-source.interface.js';

export interface ClientCredentialsOptions extends OAuthClientOptions {
  /** Default scopes: a space-separated string or an array. A request's `scopes` replace them. */
  scope?: string | string[];
  /** Default `audience` form parameter (Auth0 and others). A request's `audience` replaces it. */
  audience?: string;
  /** Default RFC 8707 `resource` form parameter. A request's `resource` replaces it. */
  resource?: string;
  /** Default `'client_secret_basic'`. */
  authMethod?: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
}

/**
 * OAuth 2 client credentials grant (RFC 6749 §4.4): a service's own token. Authenticates with
 * `client_secret_basic` (default), `client_secret_post` or `private_key_jwt` (RFC 7523, a fresh `jti` each time).
 * Throws TokenCacheConfigError naming the option (`clientCredentials.tokenUrl`…) for bad options.
 */
export function clientCredentials(options: ClientCredentialsOptions): TokenSource {
  const client = new OAuthGrantClient('clientCredentials', options, 'client_secret_basic', [
    'client_secret_basic',
    'client_secret_post',
    'private_key_jwt',
  ]);
  const defaults = {
    scopes: parseScopeOption('clientCredentials.scope', options.scope),
    audience: options.audience,
    resource: options.resource,
  };
  assertOptionalString('clientCredentials.audience', options.audience);
  assertOptionalString('clientCredentials.resource', options.resource);
  return {
    kind: 'client_credentials',
    timeoutMs: client.timeoutMs,
    ...(client.dpop && { dpopKey: client.dpop.key }),
    async fetchToken(request, context) {
      const { refreshToken: _unused, ...token } = await client.grant(
        { type: 'client_credentials' },
        client.params(request, defaults),
        request,
        context,
      );
      return token;
    },
    secrets: () => client.secrets(),
  };
}
