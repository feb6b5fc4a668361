import { assertOptionalString, assertOptionsObject } from '../validate.js';
import { JWT_BEARER_OPTION_NAMES } from './source-options.js';
import { readAssertion, staticSecret, validateAssertionInput, type AssertionInput } from './assertion-input.js';
import { OAuthGrantClient, parseScopeOption, type OAuthClientOptions } from './oauth-grant.js';
import type { TokenSource } from './token-source.interface.js';

export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface JwtBearerOptions extends Omit<OAuthClientOptions, 'clientId'> {
  /** Optional (RFC 7523 §3.1): without it and without client authentication, the assertion alone authenticates. */
  clientId?: string;
  /**
   * The JWT sent as `assertion`: a string; a function of the request (e.g. an assertion per `subject`), called
   * for every token request; or `{ path }`, a file read afresh for every token request (a Kubernetes projected
   * service-account token). Redacted from every message.
   */
  assertion: AssertionInput;
  /** Default scopes: a space-separated string or an array. A request's `scopes` replace them. */
  scope?: string | string[];
  /** Default `audience`. A request's `audience` replaces it. */
  audience?: string;
  /** Default RFC 8707 `resource`. A request's `resource` replaces it. */
  resource?: string;
}

/**
 * The JWT bearer grant (RFC 7523 §2.1, `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`): a JWT
 * (a workload's projected service-account token, a signed assertion of your own) exchanged for an access
 * token. Client authentication is optional: default `client_secret_basic` with `clientSecret`, else none.
 */
export function jwtBearer(options: JwtBearerOptions): TokenSource {
  assertOptionsObject('jwtBearer', options, JWT_BEARER_OPTION_NAMES);
  const defaultMethod =
    options !== null && typeof options === 'object' && typeof options.clientSecret === 'string' && options.clientSecret !== ''
      ? 'client_secret_basic'
      : 'none';
  const client = new OAuthGrantClient('jwtBearer', options as OAuthClientOptions, defaultMethod, undefined, {
    clientIdRequired: false,
    grantOptions: ['assertion', 'scope', 'audience', 'resource'],
  });
  const assertion = validateAssertionInput('jwtBearer.assertion', options.assertion, 'required');
  assertOptionalString('jwtBearer.audience', options.audience);
  assertOptionalString('jwtBearer.resource', options.resource);
  const defaults = {
    scopes: parseScopeOption('jwtBearer.scope', options.scope),
    audience: options.audience,
    resource: options.resource,
  };
  const fixedSecrets = staticSecret(assertion);
  return {
    kind: 'jwt_bearer',
    timeoutMs: client.timeoutMs,
    ...(client.dpop && { dpopKey: client.dpop.key }),
    secrets: () => [...client.secrets(), ...fixedSecrets],
    close: () => client.close(),
    async fetchToken(request, context) {
      const value = await readAssertion('jwtBearer.assertion', assertion, request);
      const params = client.params(request, defaults);
      params.set('assertion', value);
      const { refreshToken: _unused, ...token } = await client.grant(JWT_BEARER_GRANT_TYPE, params, request, context, [value]);
      return token;
    },
  };
}
