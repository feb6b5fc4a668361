/**
 * The 0.2 grants against a real third-party authorization server: oidc-provider 9 with token exchange
 * (RFC 8693) and JWT bearer (RFC 7523 §2.1) registered as grant types (`registerGrantType`), found by issuer
 * discovery (`/.well-known/openid-configuration`), with every client authentication method it checks itself:
 * `client_secret_basic`, `client_secret_post`, `client_secret_jwt`, `private_key_jwt`, and over HTTPS with
 * certificates made by openssl at test time, `tls_client_auth` and `self_signed_tls_client_auth` (RFC 8705,
 * oidc-provider's mTLS feature) through its `mtls_endpoint_aliases`. No secret, subject token or assertion in
 * any output.
 */
import { inspect } from 'node:util';
import { jwtBearer, TokenCache, TokenFetchError, tokenExchange, type TokenCacheEvent } from 'nestjs-token-cache/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GRANT_CLIENTS, JWT_BEARER, startGrantsOidcIdp, TOKEN_EXCHANGE, type GrantsOidcIdp } from './support/oidc-idp.js';
import { makeTestPki, type TestPki } from './support/test-pki.js';

const caches: TokenCache[] = [];
function newCache(sources: ConstructorParameters<typeof TokenCache>[0]['sources'], events?: TokenCacheEvent[]): TokenCache {
  const cache = new TokenCache({ sources });
  if (events) cache.events$.subscribe((e) => events.push(e));
  caches.push(cache);
  return cache;
}
afterEach(async () => {
  for (const cache of caches.splice(0)) await cache.close();
});

/** A value in every encoding it could leak in. */
const forms = (value: string) => [
  value,
  encodeURIComponent(value),
  new URLSearchParams({ v: value }).toString().slice(2),
  Buffer.from(value).toString('base64'),
  Buffer.from(value).toString('base64url'),
];
function expectNoneOf(output: string, values: string[]): void {
  for (const value of values) for (const form of forms(value)) expect(output).not.toContain(form);
}
const everything = (cache: TokenCache, events: TokenCacheEvent[], errors: unknown[]) =>
  JSON.stringify({ stats: cache.stats(), entries: cache.entries(), events, errors: errors.map((e) => inspect(e, { depth: 6 })) });

/** The client options of each authentication method oidc-provider checks over plain HTTP. */
const SECRET_METHODS = (idp: () => GrantsOidcIdp) =>
  [
    ['client_secret_basic', () => ({ clientId: GRANT_CLIENTS.basic.id, clientSecret: GRANT_CLIENTS.basic.secret, authMethod: 'client_secret_basic' as const })],
    ['client_secret_post', () => ({ clientId: GRANT_CLIENTS.post.id, clientSecret: GRANT_CLIENTS.post.secret, authMethod: 'client_secret_post' as const })],
    ['client_secret_jwt', () => ({ clientId: GRANT_CLIENTS.jwt.id, clientSecret: GRANT_CLIENTS.jwt.secret, authMethod: 'client_secret_jwt' as const })],
    ['private_key_jwt', () => ({ clientId: GRANT_CLIENTS.key.id, privateKey: idp().privateKeyPem, authMethod: 'private_key_jwt' as const })],
  ] as const;

describe('oidc-provider over HTTP: discovery, token exchange and JWT bearer with every secret/key authentication', () => {
  let idp: GrantsOidcIdp;
  beforeAll(async () => {
    idp = await startGrantsOidcIdp();
  });
  afterAll(async () => {
    await idp?.close();
  });

  it('discovery: the token endpoint comes from /.well-known/openid-configuration, read once, on the first fetch', async () => {
    const urls: string[] = [];
    const cache = newCache({
      obo: tokenExchange({
        issuer: idp.issuer,
        ...SECRET_METHODS(() => idp)[0][1](),
        fetch: (url, init) => (urls.push(String(url)), fetch(url, init)),
      }),
    });
    expect(urls).toEqual([]);
    const alice = await idp.issueUserToken('alice');
    const bob = await idp.issueUserToken('bob');
    await cache.getToken('obo', { subjectToken: alice });
    await cache.getToken('obo', { subjectToken: bob });
    expect(urls).toEqual([`${idp.issuer}/.well-known/openid-configuration`, `${idp.issuer}/token`, `${idp.issuer}/token`]);
  });

  it.each(SECRET_METHODS(() => idp))('tokenExchange with %s: the user\'s token exchanged for one of the same user, the client acting', async (method, client) => {
    const before = idp.requests.length;
    const cache = newCache({ obo: tokenExchange({ issuer: idp.issuer, ...client(), scope: 'read', audience: 'orders-api' }) });
    const alice = await idp.issueUserToken('alice');
    const bob = await idp.issueUserToken('bob');
    // Concurrent callers with one user's token share one exchange; another user's token never shares it.
    const [a1, a2, b] = await Promise.all([
      cache.getToken('obo', { subjectToken: alice }),
      cache.getToken('obo', { subjectToken: alice }),
      cache.getToken('obo', { subjectToken: bob }),
    ]);
    expect(a1).toBe(a2);
    expect(b).not.toBe(a1);
    const sent = idp.requests.slice(before);
    expect(sent.map((r) => [r.grantType, r.status])).toEqual([
      [TOKEN_EXCHANGE, 200],
      [TOKEN_EXCHANGE, 200],
    ]);
    expect(await idp.lookup(a1)).toMatchObject({ accountId: 'alice', clientId: client().clientId, scope: 'read', extra: { act: { sub: client().clientId }, aud: 'orders-api' } });
    expect(await idp.lookup(b)).toMatchObject({ accountId: 'bob' });
    // What each method puts on the wire, and never the secret in the form unless the method says so.
    const form = sent[0]!.form;
    expect(form).toMatchObject({ subject_token_type: 'urn:ietf:params:oauth:token-type:access_token', audience: 'orders-api' });
    if (method === 'client_secret_basic') expect(sent[0]!.authorization).toMatch(/^Basic /);
    else expect(sent[0]!.authorization).toBeUndefined();
    if (method !== 'client_secret_post') expect(form.client_secret).toBeUndefined();
    if (method.endsWith('_jwt')) {
      expect(form.client_assertion_type).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      expect(form.client_assertion).not.toBe(sent[1]!.form.client_assertion); // a fresh assertion (jti) per request
    }
  });

  it.each(SECRET_METHODS(() => idp))('jwtBearer with %s: a workload assertion per subject, the token for that subject', async (_method, client) => {
    const before = idp.requests.length;
    const cache = newCache({
      wif: jwtBearer({ issuer: idp.issuer, ...client(), scope: 'read', assertion: (request) => idp.signAssertion({ sub: `system:serviceaccount:shop:${request.subject}` }) }),
    });
    const orders = await cache.getToken('wif', { subject: 'orders' });
    const billing = await cache.getToken('wif', { subject: 'billing' });
    expect(await cache.getToken('wif', { subject: 'orders' })).toBe(orders);
    expect(idp.requests.slice(before).map((r) => [r.grantType, r.status])).toEqual([
      [JWT_BEARER, 200],
      [JWT_BEARER, 200],
    ]);
    expect(await idp.lookup(orders)).toMatchObject({ accountId: 'system:serviceaccount:shop:orders', clientId: client().clientId });
    expect(await idp.lookup(billing)).toMatchObject({ accountId: 'system:serviceaccount:shop:billing' });
  });

  it('a subject token the IdP does not know: TokenFetchError invalid_grant naming the subject token, which appears nowhere', async () => {
    const events: TokenCacheEvent[] = [];
    const cache = newCache({ obo: tokenExchange({ issuer: idp.issuer, clientId: GRANT_CLIENTS.basic.id, clientSecret: GRANT_CLIENTS.basic.secret }) }, events);
    const forged = `forged-${Date.now()}-subject-token`;
    const error = (await cache.getToken('obo', { subjectToken: forged }).catch((e: unknown) => e)) as TokenFetchError;
    expect(error).toBeInstanceOf(TokenFetchError);
    expect(error).toMatchObject({ status: 400, oauthError: 'invalid_grant', retryable: false });
    expect(error.message).toMatch(/subject token .*was rejected \(RFC 8693\)/);
    expect(idp.seen.subjectTokens).toContain(forged); // it did reach the IdP
    expectNoneOf(everything(cache, events, [error]), [forged, GRANT_CLIENTS.basic.secret]);
  });

  it('an assertion the IdP does not trust (wrong audience, expired): invalid_grant naming the assertion, which appears nowhere', async () => {
    for (const claims of [{ sub: 'svc', aud: 'https://someone-else.example' }, { sub: 'svc', expiresIn: '-1m' }]) {
      const events: TokenCacheEvent[] = [];
      const assertion = await idp.signAssertion(claims);
      const cache = newCache({ wif: jwtBearer({ issuer: idp.issuer, clientId: GRANT_CLIENTS.post.id, clientSecret: GRANT_CLIENTS.post.secret, authMethod: 'client_secret_post', assertion }) }, events);
      const error = (await cache.getToken('wif').catch((e: unknown) => e)) as TokenFetchError;
      expect(error).toMatchObject({ name: 'TokenFetchError', oauthError: 'invalid_grant', retryable: false });
      expect(error.message).toMatch(/assertion was rejected \(RFC 7523\)/);
      expectNoneOf(everything(cache, events, [error]), [assertion, GRANT_CLIENTS.post.secret]);
    }
  });

  it.each([
    ['client_secret_basic', GRANT_CLIENTS.basic.id],
    ['client_secret_post', GRANT_CLIENTS.post.id],
    ['client_secret_jwt', GRANT_CLIENTS.jwt.id],
  ] as const)('a wrong secret with %s: invalid_client naming what to check, the secret nowhere', async (authMethod, clientId) => {
    const events: TokenCacheEvent[] = [];
    const wrong = 'wrong-secret-0123456789-abcdefghijklmnop';
    const cache = newCache({ obo: tokenExchange({ issuer: idp.issuer, clientId, clientSecret: wrong, authMethod }) }, events);
    const subjectToken = await idp.issueUserToken('alice');
    const error = (await cache.getToken('obo', { subjectToken }).catch((e: unknown) => e)) as TokenFetchError;
    expect(error).toMatchObject({ name: 'TokenFetchError', oauthError: 'invalid_client', retryable: false });
    expect(error.message).toMatch(/Check "clientId", the client secret or key, and "authMethod"/);
    expectNoneOf(everything(cache, events, [error]), [wrong, subjectToken]);
  });
});

describe('oidc-provider over HTTPS with its mTLS feature (RFC 8705): tls_client_auth and self_signed_tls_client_auth', () => {
  let pki: TestPki;
  let idp: GrantsOidcIdp;
  beforeAll(async () => {
    pki = makeTestPki(GRANT_CLIENTS.mtls.id);
    idp = await startGrantsOidcIdp({
      https: { ...pki.server, ca: pki.ca },
      mtls: { caSignedCn: GRANT_CLIENTS.mtls.id, selfSignedCert: pki.selfSigned.cert },
    });
  });
  afterAll(async () => {
    await idp?.close();
    pki?.dispose();
  });

  it('tls_client_auth (CA-signed certificate, subject DN checked): discovery over HTTPS, the mtls_endpoint_aliases token endpoint, no secret', async () => {
    const before = idp.requests.length;
    const tls = { ...pki.client, ca: pki.ca };
    const cache = newCache({
      obo: tokenExchange({ issuer: idp.issuer, clientId: GRANT_CLIENTS.mtls.id, authMethod: 'tls_client_auth', tls }),
      wif: jwtBearer({ issuer: idp.issuer, clientId: GRANT_CLIENTS.mtls.id, authMethod: 'tls_client_auth', tls, assertion: () => idp.signAssertion({ sub: 'svc-a' }) }),
    });
    const subjectToken = await idp.issueUserToken('carol');
    const exchanged = await cache.getToken('obo', { subjectToken });
    const bearer = await cache.getToken('wif');
    expect(await idp.lookup(exchanged)).toMatchObject({ accountId: 'carol', clientId: GRANT_CLIENTS.mtls.id, extra: { act: { sub: GRANT_CLIENTS.mtls.id } } });
    expect(await idp.lookup(bearer)).toMatchObject({ accountId: 'svc-a', clientId: GRANT_CLIENTS.mtls.id });
    const sent = idp.requests.slice(before);
    expect(sent.map((r) => [r.path, r.grantType, r.clientCertificate, r.status])).toEqual([
      ['/mtls/token', TOKEN_EXCHANGE, GRANT_CLIENTS.mtls.id, 200],
      ['/mtls/token', JWT_BEARER, GRANT_CLIENTS.mtls.id, 200],
    ]);
    for (const r of sent) {
      expect(r.authorization).toBeUndefined();
      expect(r.form.client_secret).toBeUndefined();
      expect(r.form.client_assertion).toBeUndefined();
      expect(r.form.client_id).toBe(GRANT_CLIENTS.mtls.id);
    }
  });

  it('self_signed_tls_client_auth: the registered self-signed certificate (x5t#S256 of its JWK) authenticates', async () => {
    const cache = newCache({
      obo: tokenExchange({ issuer: idp.issuer, clientId: GRANT_CLIENTS.selfSigned.id, authMethod: 'self_signed_tls_client_auth', tls: { ...pki.selfSigned, ca: pki.ca } }),
    });
    const token = await cache.getToken('obo', { subjectToken: await idp.issueUserToken('dave') });
    expect(await idp.lookup(token)).toMatchObject({ accountId: 'dave', clientId: GRANT_CLIENTS.selfSigned.id });
    expect(idp.requests.at(-1)).toMatchObject({ path: '/mtls/token', status: 200 });
  });

  it('a certificate that is not the registered one: invalid_client, not retryable, no key in any output', async () => {
    const events: TokenCacheEvent[] = [];
    const cache = newCache(
      {
        // The self-signed certificate for the CA-checked client, and the CA-signed one for the self-signed client.
        a: tokenExchange({ issuer: idp.issuer, clientId: GRANT_CLIENTS.mtls.id, authMethod: 'tls_client_auth', tls: { ...pki.selfSigned, ca: pki.ca } }),
        b: tokenExchange({ issuer: idp.issuer, clientId: GRANT_CLIENTS.selfSigned.id, authMethod: 'self_signed_tls_client_auth', tls: { ...pki.client, ca: pki.ca } }),
      },
      events,
    );
    const subjectToken = await idp.issueUserToken('erin');
    const errors = [];
    for (const source of ['a', 'b']) {
      const error = (await cache.getToken(source, { subjectToken }).catch((e: unknown) => e)) as TokenFetchError;
      expect(error).toMatchObject({ name: 'TokenFetchError', status: 401, oauthError: 'invalid_client', retryable: false });
      errors.push(error);
    }
    const output = everything(cache, events, errors);
    expectNoneOf(output, [subjectToken]);
    for (const key of [pki.client.key, pki.selfSigned.key]) expect(output).not.toContain(key.split('\n')[1]);
  });
});
