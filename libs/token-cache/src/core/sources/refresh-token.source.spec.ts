import { refreshTokenGrant, TokenCache, TokenCacheConfigError, TokenFetchError } from 'nestjs-token-cache/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { NASTY_SECRETS, startOidcIdp, type OidcIdp } from '../../../../../test/support/oidc-idp.js';
import { json, startRawServer, type RawServer } from '../../../../../test/support/raw-http-server.js';
import { FakeClock } from '../testing/fake-clock.js';

const ctx = (signal = new AbortController().signal) => ({ signal, clock: new FakeClock() });

describe('refreshTokenGrant against oidc-provider (rotation on, reuse revokes the grant)', () => {
  let idp: OidcIdp;
  beforeAll(async () => (idp = await startOidcIdp()));
  afterAll(() => idp.close());

  const options = (refreshToken: string) => ({
    tokenUrl: idp.tokenUrl,
    clientId: 'refresh-client',
    clientSecret: NASTY_SECRETS.refresh,
    refreshToken,
  });

  it('uses the rotated refresh token from then on and awaits onRefreshTokenRotated each time', async () => {
    const initial = await idp.issueRefreshToken();
    const rotated: string[] = [];
    let persisted = false;
    const source = refreshTokenGrant({
      ...options(initial),
      onRefreshTokenRotated: async (rt) => {
        await new Promise((r) => setTimeout(r, 20));
        rotated.push(rt);
        persisted = true;
      },
    });
    expect(source.kind).toBe('refresh_token');
    const first = await source.fetchToken({ source: 'user' }, ctx());
    expect(persisted).toBe(true); // awaited before the token was handed out
    expect(first.accessToken).toBeTruthy();
    expect(first).not.toHaveProperty('refreshToken');
    expect(rotated).toHaveLength(1);
    expect(rotated[0]).not.toBe(initial);
    // oidc-provider revokes the whole grant when a spent refresh token comes back: these pass only with the new one.
    const second = await source.fetchToken({ source: 'user' }, ctx());
    const third = await source.fetchToken({ source: 'user' }, ctx());
    expect(new Set([first.accessToken, second.accessToken, third.accessToken]).size).toBe(3);
    expect(rotated).toHaveLength(3);
    expect(new Set(rotated).size).toBe(3);
    // The refresh tokens are secrets: the current and the spent ones are redacted.
    expect(source.secrets?.()).toEqual(expect.arrayContaining([NASTY_SECRETS.refresh, initial, rotated[2]]));
  });

  it('concurrent fetches for different cache keys spend each refresh token once', async () => {
    const initial = await idp.issueRefreshToken();
    const rotated: string[] = [];
    const source = refreshTokenGrant({ ...options(initial), onRefreshTokenRotated: (rt) => void rotated.push(rt) });
    const cache = new TokenCache({ sources: { user: source } });
    const before = idp.requests.filter((r) => r.grantType === 'refresh_token').length;
    const tokens = await Promise.all([
      cache.getToken('user'),
      cache.getToken('user', { scopes: ['read'] }),
      cache.getToken('user', { scopes: ['write'] }),
      cache.getToken('user', { scopes: ['openid', 'read'] }),
    ]);
    expect(new Set(tokens).size).toBe(4);
    expect(idp.requests.filter((r) => r.grantType === 'refresh_token').length - before).toBe(4);
    expect(new Set(rotated).size).toBe(4);
    // Still healthy afterwards: the grant was never revoked for reuse.
    expect(await cache.refresh('user')).toBeTruthy();
    await cache.close();
  });

  it('without serialization the same refresh token would be spent twice: the server revokes the grant', async () => {
    // The failure mode the source prevents, shown with two independent sources sharing one refresh token.
    const initial = await idp.issueRefreshToken();
    const a = refreshTokenGrant(options(initial));
    const b = refreshTokenGrant(options(initial));
    await a.fetchToken({ source: 'user' }, ctx());
    const error = (await b.fetchToken({ source: 'user' }, ctx()).catch((e: unknown) => e)) as TokenFetchError;
    expect(error).toBeInstanceOf(TokenFetchError);
    expect(error).toMatchObject({ status: 400, oauthError: 'invalid_grant', retryable: false });
    expect(error.message).not.toContain(initial);
    // …and the grant is gone for the honest source too.
    await expect(a.fetchToken({ source: 'user' }, ctx())).rejects.toMatchObject({ oauthError: 'invalid_grant' });
  });

  it('requests narrower scopes per request; a scope outside the grant is invalid_scope', async () => {
    const source = refreshTokenGrant({ ...options(await idp.issueRefreshToken()), scope: 'read' });
    expect((await source.fetchToken({ source: 'user' }, ctx())).scope).toBe('read');
    expect((await source.fetchToken({ source: 'user', scopes: ['write'] }, ctx())).scope).toBe('write');
    await expect(source.fetchToken({ source: 'user', scopes: ['admin'] }, ctx())).rejects.toMatchObject({
      name: 'TokenFetchError',
      oauthError: 'invalid_scope',
      retryable: false,
    });
  });

  it('a public client (no secret) uses authMethod none', async () => {
    const source = refreshTokenGrant({ tokenUrl: idp.tokenUrl, clientId: 'public-client', refreshToken: await idp.issueRefreshToken('public-client') });
    expect((await source.fetchToken({ source: 'user' }, ctx())).accessToken).toBeTruthy();
  });

  it('a wrong client secret is invalid_client; an unknown refresh token is invalid_grant; neither shows a secret', async () => {
    const rt = await idp.issueRefreshToken();
    const wrongSecret = refreshTokenGrant({ ...options(rt), clientSecret: 'wrong:secret' });
    const e1 = (await wrongSecret.fetchToken({ source: 'user' }, ctx()).catch((e: unknown) => e)) as TokenFetchError;
    expect(e1).toMatchObject({ name: 'TokenFetchError', status: 401, oauthError: 'invalid_client', retryable: false });
    const unknown = refreshTokenGrant(options('not-a-real-refresh-token'));
    const e2 = (await unknown.fetchToken({ source: 'user' }, ctx()).catch((e: unknown) => e)) as TokenFetchError;
    expect(e2).toMatchObject({ name: 'TokenFetchError', status: 400, oauthError: 'invalid_grant', retryable: false });
    for (const e of [e1, e2]) {
      for (const secret of ['wrong:secret', NASTY_SECRETS.refresh, rt, 'not-a-real-refresh-token']) expect(e.message).not.toContain(secret);
    }
  });
});

describe('refreshTokenGrant against a scripted server', () => {
  let server: RawServer;
  let n = 0;
  let hang = false;
  beforeAll(async () => {
    server = await startRawServer((res, req) => {
      if (hang) return;
      n++;
      const rt = req.body.get('refresh_token');
      json(res, 200, { access_token: `at-${n}`, token_type: 'Bearer', expires_in: 60, refresh_token: `${rt}>${n}` });
    });
  });
  afterAll(() => server.close());

  it('a failing onRefreshTokenRotated does not fail the fetch; the new token is kept; the warning holds no token', async () => {
    const warn = vi.fn();
    const source = refreshTokenGrant({
      tokenUrl: server.url,
      clientId: 'c',
      refreshToken: 'rt0-long-enough',
      onRefreshTokenRotated: (rt) => {
        throw new Error(`database down while saving ${rt}`);
      },
      logger: { warn },
    });
    const first = await source.fetchToken({ source: 'user' }, ctx());
    expect(first.accessToken).toMatch(/^at-/);
    expect(warn).toHaveBeenCalledTimes(1);
    const line = String(warn.mock.calls[0]![0]);
    expect(line).toContain('onRefreshTokenRotated');
    expect(line).toContain('database down');
    expect(line).not.toContain('rt0-long-enough>');
    await source.fetchToken({ source: 'user' }, ctx());
    expect(server.requests.at(-1)!.body.get('refresh_token')).toMatch(/^rt0-long-enough>\d+$/);
  });

  it('a caller whose signal fires while queued behind a hanging refresh gives up and spends nothing', async () => {
    const source = refreshTokenGrant({ tokenUrl: server.url, clientId: 'c', refreshToken: 'rt-queue-test' });
    hang = true;
    const first = new AbortController();
    const second = new AbortController();
    const arrived = server.nextRequest();
    const p1 = source.fetchToken({ source: 'user' }, ctx(first.signal)).catch((e: unknown) => e);
    const p2 = source.fetchToken({ source: 'user', scopes: ['b'] }, ctx(second.signal)).catch((e: unknown) => e);
    await arrived;
    const count = server.requests.length;
    second.abort();
    expect(await p2).toBeInstanceOf(TokenFetchError);
    first.abort();
    expect(await p1).toBeInstanceOf(TokenFetchError);
    hang = false;
    // The queued refresh saw its abort and never went out; the source still works.
    expect(server.requests.length).toBe(count);
    expect((await source.fetchToken({ source: 'user' }, ctx())).accessToken).toMatch(/^at-/);
    expect(server.requests.at(-1)!.body.get('refresh_token')).toBe('rt-queue-test');
  });
});

describe('refreshTokenGrant options', () => {
  const ok = { tokenUrl: 'https://idp.example/token', clientId: 'c', refreshToken: 'rt' };
  it.each([
    ['refreshTokenGrant.refreshToken', { ...ok, refreshToken: '' }],
    ['refreshTokenGrant.tokenUrl', { ...ok, tokenUrl: 'not a url' }],
    ['refreshTokenGrant.clientId', { ...ok, clientId: 7 }],
    ['refreshTokenGrant.clientSecret', { ...ok, authMethod: 'client_secret_basic' }],
    ['refreshTokenGrant.onRefreshTokenRotated', { ...ok, onRefreshTokenRotated: 'save' }],
    ['refreshTokenGrant.authMethod', { ...ok, authMethod: 'tls' }],
    ['refreshTokenGrant.timeoutMs', { ...ok, timeoutMs: 1.5 }],
  ] as [string, Record<string, unknown>][])('%s is checked at once', (option, options) => {
    expect(() => refreshTokenGrant(options as never)).toThrow(TokenCacheConfigError);
    try {
      refreshTokenGrant(options as never);
    } catch (e) {
      expect((e as TokenCacheConfigError).option).toBe(option);
    }
  });
});
