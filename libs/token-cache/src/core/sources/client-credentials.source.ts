import { assertOptionalString, assertOptionsObject } from '../validate.js';
import { assertNoSubjectToken } from './subject-token-unused.js';
import { CLIENT_CREDENTIALS_OPTION_NAMES } from './source-options.js';
import { ALL_AUTH_METHODS } from './oauth-client-auth.js';
import { OAuthGrantClient, parseScopeOption, type OAuthAuthMethod, type OAuthClientOptions } from './oauth-grant.js';
import type { TokenSource } from './token-source.interface.js';

export interface ClientCredentialsOptions extends OAuthClientOptions {
  /** Default scopes: a space-separated string or an array. A request's `scopes` replace them. */
  scope?: string | string[];
  /** Default `audience` form parameter (Auth0 and others). A request's `audience` replaces it. */
  audience?: string;
  /** Default RFC 8707 `resource` form parameter. A request's `resource` replaces it. */
  resource?: string;
  /** Default `'client_secret_basic'`. Every method but `'none'` (a client credentials client is confidential). */
  authMethod?: Exclude<OAuthAuthMethod, 'none'>;
}

/**
 * OAuth 2 client credentials grant (RFC 6749 §4.4): a service's own token. Authenticates with
 * `client_secret_basic` (default), `client_secret_post`, `private_key_jwt` (RFC 7523, a fresh `jti` each time),
 * `client_assertion` (workload identity federation) or a client certificate (`tls_client_auth`, RFC 8705).
 * Throws TokenCacheConfigError naming the option (`clientCredentials.tokenUrl`…) for bad options.
 */
export function clientCredentials(options: ClientCredentialsOptions): TokenSource {
  assertOptionsObject('clientCredentials', options, CLIENT_CREDENTIALS_OPTION_NAMES);
  const client = new OAuthGrantClient(
    'clientCredentials',
    options,
    'client_secret_basic',
    ALL_AUTH_METHODS.filter((m) => m !== 'none'),
    { grantOptions: ['scope', 'audience', 'resource'] },
  );
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
      assertNoSubjectToken(request, 'client_credentials');
      const { refreshToken: _unused, ...token } = await client.grant(
        'client_credentials',
        client.params(request, defaults),
        request,
        context,
      );
      return token;
    },
    secrets: () => client.secrets(),
    close: () => client.close(),
  };
}
