/**
 * A client_credentials source against the mock IdP, built on `tokenFunction` + fetch, so these tests
 * depend on the cache and the interceptor only. The request's subject is sent as a form field the IdP
 * copies into `sub` (see `copySubjectIntoSub`).
 */
import { randomUUID } from 'node:crypto';
import { TokenFetchError, tokenFunction, type TokenSource } from 'nestjs-token-cache/core';
import type { MockIdp } from './mock-idp.js';

export function idpClientCredentials(idp: MockIdp, clientId = 'interceptor-tests'): TokenSource {
  return tokenFunction(async (request, { signal }) => {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (request.scopes) form.set('scope', request.scopes.join(' '));
    if (request.audience) form.set('aud', request.audience);
    if (request.subject) form.set('subject', request.subject);
    const res = await fetch(idp.tokenUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${clientId}:secret`).toString('base64')}`,
      },
      body: form,
      signal,
    });
    if (!res.ok) throw new TokenFetchError(`The mock IdP answered HTTP ${res.status}`, { status: res.status });
    const body = (await res.json()) as { access_token: string; expires_in: number; token_type: string };
    return { accessToken: body.access_token, expiresIn: body.expires_in, tokenType: body.token_type };
  });
}

/**
 * Makes every token the IdP issues unique (a `jti`: two tokens issued in the same second would otherwise be
 * the same string, and a "new" token would be the revoked one), and puts the requested subject into `sub`,
 * so tests can see which key a token is for.
 */
export function distinctTokensWithSubject(idp: MockIdp): void {
  idp.server.service.on('beforeTokenSigning', (token: { payload: Record<string, unknown> }, req: { body?: Record<string, unknown> }) => {
    token.payload.jti = randomUUID();
    if (typeof req.body?.subject === 'string') token.payload.sub = req.body.subject;
  });
}
