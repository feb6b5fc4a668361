/**
 * The interceptor tests' source: the library's own `clientCredentials` against the mock IdP, plus an IdP
 * hook that makes every token unique and shows the requested audience in the token.
 */
import { randomUUID } from 'node:crypto';
import { clientCredentials, type TokenSource } from 'nestjs-token-cache/core';
import type { MockIdp } from './mock-idp.js';

export function idpClientCredentials(idp: MockIdp, clientId = 'interceptor-tests'): TokenSource {
  return clientCredentials({ tokenUrl: idp.tokenUrl, clientId, clientSecret: 'interceptor-tests-secret' });
}

/**
 * Makes every token the IdP issues unique (a `jti`: two tokens issued in the same second would otherwise be
 * the same string, and a "new" token would be the revoked one), and copies the `audience` form parameter
 * into `aud` (oauth2-mock-server reads only `aud`), so tests can see which key a token was fetched for.
 */
export function distinctTokensWithAudience(idp: MockIdp): void {
  idp.server.service.on('beforeTokenSigning', (token: { payload: Record<string, unknown> }, req: { body?: Record<string, unknown> }) => {
    token.payload.jti = randomUUID();
    if (typeof req.body?.audience === 'string') token.payload.aud = req.body.audience;
    if (typeof req.body?.subject === 'string') token.payload.sub = req.body.subject;
  });
}

/** The earlier name of `distinctTokensWithAudience` (other tests import it); also copies a `subject` field into `sub`. */
export const distinctTokensWithSubject = distinctTokensWithAudience;
