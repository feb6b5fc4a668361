import { createPrivateKey } from 'node:crypto';
import { clientCredentials, TokenCache, TokenCacheConfigError, TokenFetchError, type TokenSource } from 'nestjs-token-cache/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockIdp, type MockIdp } from '../../../../../test/support/mock-idp.js';
import { NASTY_SECRETS, startOidcIdp, type OidcIdp } from '../../../../../test/support/oidc-idp.js';
import { json, startRawServer, type RawServer } from '../../../../../test/support/raw-http-server.js';
import { FakeClock } from '../testing/fake-clock.js';

const ctx = () => ({ signal: new AbortController().signal, clock: new FakeClock() });

function decodeJwtPart(jwt: string, part: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[part]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('clientCredentials against oidc-provider (secrets really checked)', () => {
  let idp: OidcIdp;
  beforeAll(async () => (idp = await startOidcIdp()));
  afterAll(() => idp.close());

  it('client_secret_basic (the default) with a secret holding : % %41 + space & = " \\', async () => {
    const source = clientCredentials({ tokenUrl: idp.tokenUrl, clientId: 'basic-client', clientSecret: NASTY_SECRETS.basic, scope: 'read' });
    expect(source.kind).toBe('client_credentials');
    const token = await source.fetchToken({ source: 'api' }, ctx());
    expect(token.accessToken).toMatch(/\S{20,}/);
    expect(token.expiresIn).toBe(600);
    expect(token.scope).toBe('read');
    expect(token.tokenType?.toLowerCase()).toBe('bearer');
  });

  it('client_secret_post with a nasty secret', async () => {
    const source = clientCredentials({
      tokenUrl: idp.tokenUrl,
      clientId: 'post-client',
      clientSecret: NASTY_SECRETS.post,
      authMethod: 'client_secret_post',
      scope: ['read', 'write'],
    });
    const token = await source.fetchToken({ source: 'api' }, ctx());
    expect(token.scope?.split(' ').sort()).toEqual(['read', 'write']);
  });

  it('a wrong secret is a non-retryable TokenFetchError invalid_client (401) that never shows the secret', async () => {
    const wrong = `${NASTY_SECRETS.basic}x`;
    for (const authMethod of ['client_secret_basic', 'client_secret_post'] as const) {
      const source = clientCredentials({ tokenUrl: idp.tokenUrl, clientId: authMethod === 'client_secret_basic' ? 'basic-client' : 'post-client', clientSecret: wrong, authMethod });
      const error = (await source.fetchToken({ source: 'api' }, ctx()).catch((e: unknown) => e)) as TokenFetchError;
      expect(error).toBeInstanceOf(TokenFetchError);
      expect(error.status).toBe(401);
      expect(error.oauthError).toBe('invalid_client');
      expect(error.retryable).toBe(false);
      expect(error.source).toBe('api');
      expect(error.message).toContain('"api"');
      expect(error.message).toContain('invalid_client');
      expect(error.message).not.toContain(wrong);
      expect(JSON.stringify(error)).not.toContain(wrong);
    }
  });

  it('private_key_jwt with a PEM (RS256) and with a private JWK (ES256, kid): each fetch a fresh assertion', async () => {
    const pem = clientCredentials({ tokenUrl: idp.tokenUrl, clientId: 'jwt-client', authMethod: 'private_key_jwt', privateKey: idp.privateKeyPem, issuer: idp.issuer });
    const jwk = clientCredentials({ tokenUrl: idp.tokenUrl, clientId: 'jwt-client', authMethod: 'private_key_jwt', privateKey: idp.privateJwk as never });
    // oidc-provider rejects a reused jti ("client assertion tokens must only be used once"): three in a row must all pass.
    for (let i = 0; i < 3; i++) {
      expect((await pem.fetchToken({ source: 'api' }, ctx())).accessToken).toBeTruthy();
      expect((await jwk.fetchToken({ source: 'api' }, ctx())).accessToken).toBeTruthy();
    }
  });

  it('private_key_jwt with a key the client did not register is invalid_client', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const source = clientCredentials({ tokenUrl: idp.tokenUrl, clientId: 'jwt-client', authMethod: 'private_key_jwt', privateKey: other });
    await expect(source.fetchToken({ source: 'api' }, ctx())).rejects.toMatchObject({ name: 'TokenFetchError', oauthError: 'invalid_client', retryable: false });
  });

  it('through the cache: one fetch for concurrent callers, scopes per request', async () => {
    const cache = new TokenCache({
      sources: { api: clientCredentials({ tokenUrl: idp.tokenUrl, clientId: 'basic-client', clientSecret: NASTY_SECRETS.basic, scope: 'read' }) },
    });
    const before = idp.requests.length;
    const [a, b] = await Promise.all([cache.getToken('api'), cache.getToken('api')]);
    expect(a).toBe(b);
    expect(idp.requests.length - before).toBe(1);
    const write = await cache.getCachedToken('api', { scopes: ['write'] });
    expect(write.scopes).toEqual(['write']);
    expect(write.accessToken).not.toBe(a);
    await cache.close();
  });
});

describe('clientCredentials against the mock IdP (what is sent)', () => {
  let idp: MockIdp;
  beforeAll(async () => (idp = await startMockIdp()));
  afterAll(() => idp.close());

  const base = { clientId: 'svc', clientSecret: 's:e%c+r ë' } as const;

  it('sends scope, audience, resource and extraParams; the request replaces the defaults', async () => {
    const source = clientCredentials({
      tokenUrl: idp.tokenUrl,
      ...base,
      scope: 'a b',
      audience: 'https://api.example',
      resource: 'https://rs.example',
      extraParams: { tenant: 't1' },
    });
    await source.fetchToken({ source: 'api' }, ctx());
    expect(idp.requests.at(-1)!.body).toMatchObject({
      grant_type: 'client_credentials',
      scope: 'a b',
      audience: 'https://api.example',
      resource: 'https://rs.example',
      tenant: 't1',
    });
    await source.fetchToken({ source: 'api', scopes: ['c'], audience: 'https://other.example', resource: 'https://rs2.example' }, ctx());
    expect(idp.requests.at(-1)!.body).toMatchObject({
      scope: 'c',
      audience: 'https://other.example',
      resource: 'https://rs2.example',
      tenant: 't1',
    });
  });

  it('client_secret_basic: form-encodes id and secret (RFC 6749 §2.3.1); no secret in the body', async () => {
    const source = clientCredentials({ tokenUrl: idp.tokenUrl, ...base });
    await source.fetchToken({ source: 'api' }, ctx());
    const req = idp.requests.at(-1)!;
    const [user, pass] = Buffer.from(req.authorization!.replace(/^Basic /, ''), 'base64').toString().split(':');
    expect(decodeURIComponent(user!.replace(/\+/g, '%20'))).toBe('svc');
    expect(decodeURIComponent(pass!.replace(/\+/g, '%20'))).toBe(base.clientSecret);
    expect(req.body.client_secret).toBeUndefined();
  });

  it('client_secret_post: id and secret in the form, no Authorization header', async () => {
    const source = clientCredentials({ tokenUrl: idp.tokenUrl, ...base, authMethod: 'client_secret_post' });
    await source.fetchToken({ source: 'api' }, ctx());
    const req = idp.requests.at(-1)!;
    expect(req.authorization).toBeUndefined();
    expect(req.body).toMatchObject({ client_id: 'svc', client_secret: base.clientSecret });
  });

  it('private_key_jwt: a signed assertion with a fresh jti per request, aud = issuer (default tokenUrl)', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const source = clientCredentials({ tokenUrl: idp.tokenUrl, clientId: 'svc', authMethod: 'private_key_jwt', privateKey: { key, kid: 'k1' } });
    await source.fetchToken({ source: 'api' }, ctx());
    await source.fetchToken({ source: 'api' }, ctx());
    const [a, b] = idp.requests.slice(-2).map((r) => String(r.body.client_assertion));
    expect(decodeJwtPart(a!, 0)).toMatchObject({ alg: 'RS256', kid: 'k1' });
    const pa = decodeJwtPart(a!, 1);
    const pb = decodeJwtPart(b!, 1);
    expect(pa).toMatchObject({ iss: 'svc', sub: 'svc', aud: idp.tokenUrl });
    expect(pa.jti).toEqual(expect.any(String));
    expect(pa.jti).not.toBe(pb.jti);
    expect(idp.requests.at(-1)!.body.client_assertion_type).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    // The assertion verifies with the public key.
    const { createVerify } = await import('node:crypto');
    const [h, p, s] = a!.split('.');
    const ok = createVerify('RSA-SHA256').update(`${h}.${p}`).verify(createPrivateKey(key.export({ format: 'pem', type: 'pkcs8' })), Buffer.from(s!, 'base64url'));
    expect(ok).toBe(true);
  });

  it('IdP error replies: status and oauthError, retryable only for 5xx/429', async () => {
    const source = clientCredentials({ tokenUrl: idp.tokenUrl, ...base });
    const cases = [
      { status: 400, body: { error: 'invalid_scope', error_description: 'nope' }, retryable: false },
      { status: 401, body: { error: 'invalid_client' }, retryable: false },
      { status: 403, body: '' as const, retryable: false },
      { status: 500, body: { error: 'server_error' }, retryable: true },
      { status: 503, body: '' as const, retryable: true },
    ];
    try {
      for (const c of cases) {
        idp.failWith = { status: c.status, body: c.body };
        const error = (await source.fetchToken({ source: 'api' }, ctx()).catch((e: unknown) => e)) as TokenFetchError;
        expect(error).toBeInstanceOf(TokenFetchError);
        expect(error.status).toBe(c.status);
        expect(error.oauthError).toBe(typeof c.body === 'object' ? c.body.error : undefined);
        expect(error.retryable).toBe(c.retryable);
        if (c.status === 400) expect(error.oauthErrorDescription).toBe('nope');
        expect(error.message).not.toContain(base.clientSecret);
      }
    } finally {
      idp.failWith = undefined;
    }
  });

  it('expires_in from the IdP drives the cached expiry', async () => {
    idp.expiresIn = 120;
    const clock = new FakeClock(Date.now());
    const cache = new TokenCache({ sources: { api: clientCredentials({ tokenUrl: idp.tokenUrl, ...base }) }, clock });
    try {
      const token = await cache.getCachedToken('api');
      expect(token.expiresAt.getTime()).toBe(clock.now() + 120_000);
    } finally {
      idp.expiresIn = 3600;
      await cache.close();
    }
  });
});

describe('clientCredentials with non-ASCII secrets (a server that checks them as RFC 6749 §2.3.1 says)', () => {
  // oidc-provider refuses non-ASCII secrets (RFC 6749 Appendix A), so this server checks them instead.
  const secret = 'ü€ñ:%+ 😀ß=&';
  let server: RawServer;
  beforeAll(async () => {
    const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, '%20'));
    server = await startRawServer((res, req) => {
      let id: string | null = null;
      let given: string | null = null;
      const auth = req.headers.authorization;
      if (auth?.startsWith('Basic ')) {
        const [u, p] = Buffer.from(auth.slice(6), 'base64').toString('latin1').split(':');
        id = formDecode(u!);
        given = formDecode(p!);
      } else {
        id = req.body.get('client_id');
        given = req.body.get('client_secret');
      }
      if (id === 'ünï' && given === secret) json(res, 200, { access_token: 'opaque-token', token_type: 'Bearer', expires_in: 60 });
      else json(res, 401, { error: 'invalid_client' }, { 'www-authenticate': 'Basic realm="x"' });
    });
  });
  afterAll(() => server.close());

  for (const authMethod of ['client_secret_basic', 'client_secret_post'] as const) {
    it(`${authMethod}: accepted with the right secret, invalid_client (even behind WWW-Authenticate) with a wrong one`, async () => {
      const good = clientCredentials({ tokenUrl: server.url, clientId: 'ünï', clientSecret: secret, authMethod });
      expect(await good.fetchToken({ source: 'api' }, ctx())).toMatchObject({ accessToken: 'opaque-token', expiresIn: 60 });
      const bad = clientCredentials({ tokenUrl: server.url, clientId: 'ünï', clientSecret: `${secret}!`, authMethod });
      const error = (await bad.fetchToken({ source: 'api' }, ctx()).catch((e: unknown) => e)) as TokenFetchError;
      expect(error).toMatchObject({ name: 'TokenFetchError', status: 401, oauthError: 'invalid_client', retryable: false });
      expect(error.message).not.toContain(secret);
    });
  }
});

describe('clientCredentials options', () => {
  const ok = { tokenUrl: 'https://idp.example/token', clientId: 'c', clientSecret: 's' };
  const bad: [string, Record<string, unknown>][] = [
    ['clientCredentials.tokenUrl', { ...ok, tokenUrl: '' }],
    ['clientCredentials.tokenUrl', { ...ok, tokenUrl: 'ftp://idp.example/token' }],
    ['clientCredentials.clientId', { ...ok, clientId: undefined }],
    ['clientCredentials.clientSecret', { ...ok, clientSecret: undefined }],
    ['clientCredentials.clientSecret', { ...ok, clientSecret: '', authMethod: 'client_secret_post' }],
    ['clientCredentials.authMethod', { ...ok, authMethod: 'none' }],
    ['clientCredentials.authMethod', { ...ok, authMethod: 'basic' }],
    ['clientCredentials.clientSecret', { ...ok, clientSecret: 'x'.repeat(31), authMethod: 'client_secret_jwt' }],
    ['clientCredentials.clientSecret', { ...ok, clientSecret: 'é'.repeat(15), authMethod: 'client_secret_jwt' }],
    ['clientCredentials.privateKey', { ...ok, authMethod: 'private_key_jwt' }],
    ['clientCredentials.privateKey', { ...ok, authMethod: 'private_key_jwt', privateKey: 'not a key' }],
    ['clientCredentials.scope', { ...ok, scope: 42 }],
    ['clientCredentials.scope', { ...ok, scope: ['a b'] }],
    ['clientCredentials.audience', { ...ok, audience: '' }],
    ['clientCredentials.timeoutMs', { ...ok, timeoutMs: 0 }],
    ['clientCredentials.extraParams.grant_type', { ...ok, extraParams: { grant_type: 'password' } }],
    ['clientCredentials.extraParams.x', { ...ok, extraParams: { x: 1 } }],
  ];
  it.each(bad)('%s is checked at once', (option, options) => {
    let error: unknown;
    try {
      clientCredentials(options as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TokenCacheConfigError);
    expect((error as TokenCacheConfigError).option).toBe(option);
    expect((error as Error).message).toContain(option);
  });

  it("client_secret_jwt: a secret under 32 bytes (RFC 7518 §3.2) fails at once without showing it; 32 bytes (UTF-8) are enough", () => {
    const short = 'tooShortSecret-0123456789';
    expect(() => clientCredentials({ ...ok, clientSecret: short, authMethod: 'client_secret_jwt' })).toThrow(/at least 32 bytes \(RFC 7518 §3\.2\); this secret has 25/);
    try {
      clientCredentials({ ...ok, clientSecret: short, authMethod: 'client_secret_jwt' });
    } catch (error) {
      expect(String(error)).not.toContain(short);
    }
    expect(() => clientCredentials({ ...ok, clientSecret: 'x'.repeat(32), authMethod: 'client_secret_jwt' })).not.toThrow();
    expect(() => clientCredentials({ ...ok, clientSecret: 'é'.repeat(16), authMethod: 'client_secret_jwt' })).not.toThrow();
    for (const authMethod of ['client_secret_basic', 'client_secret_post'] as const) {
      expect(() => clientCredentials({ ...ok, clientSecret: 's', authMethod })).not.toThrow();
    }
  });

  it('a public key is not a private key', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => clientCredentials({ ...ok, authMethod: 'private_key_jwt', privateKey: publicKey })).toThrow(TokenCacheConfigError);
  });

  it('exposes timeoutMs to the cache and its secrets for redaction', () => {
    const source: TokenSource = clientCredentials({ ...ok, timeoutMs: 1234 });
    expect(source.timeoutMs).toBe(1234);
    expect(source.secrets?.()).toEqual(['s']);
  });
});
