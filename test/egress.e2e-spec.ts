/**
 * How token requests leave the process: RFC 8705 mTLS against an HTTPS token endpoint that asks for a client
 * certificate (CA, server and client certificates made by openssl at test time), proxy variables through a
 * recording forward proxy, and a `fetch` of your own.
 */
import { inspect } from 'node:util';
import { clientCredentials, TokenCache, TokenCacheConfigError, TokenFetchError, tokenExchange } from 'nestjs-token-cache/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../libs/token-cache/src/core/testing/fake-clock.js';
import { startForwardProxy, type ForwardProxy } from './support/forward-proxy.js';
import { CLIENT_SECRET, startGrantsIdp, type GrantsIdp } from './support/grants-idp.js';
import { makeTestPki, type TestPki } from './support/test-pki.js';

const CLIENT_ID = 'mtls-client';
let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki(CLIENT_ID);
});

const ctx = () => ({ signal: new AbortController().signal, clock: new FakeClock(Date.now()) });
const closers: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

describe('mTLS client authentication (RFC 8705)', () => {
  let idp: GrantsIdp;
  beforeEach(async () => {
    idp = await startGrantsIdp({ tls: { ...pki.server, ca: pki.ca }, mtlsAliasPath: '/mtls/token' });
    closers.push(() => idp.close());
  });

  it('tls_client_auth presents the client certificate; no secret is sent; tls.ca trusts the endpoint', async () => {
    const source = clientCredentials({ tokenUrl: idp.tokenUrl, clientId: CLIENT_ID, authMethod: 'tls_client_auth', tls: { ...pki.client, ca: pki.ca } });
    closers.push(() => source.close?.());
    const token = await source.fetchToken({ source: 'api' }, ctx());
    expect(await idp.verify(token.accessToken)).toMatchObject({ sub: CLIENT_ID });
    const [sent] = idp.requests;
    expect(sent).toMatchObject({ clientCertificate: CLIENT_ID, form: { client_id: CLIENT_ID, grant_type: 'client_credentials' } });
    expect(sent!.authorization).toBeUndefined();
    expect(sent!.form.client_secret).toBeUndefined();
  });

  it('with issuer discovery, the mtls_endpoint_aliases.token_endpoint is used', async () => {
    const cache = new TokenCache({
      sources: { api: clientCredentials({ issuer: idp.issuer, clientId: CLIENT_ID, authMethod: 'tls_client_auth', tls: { ...pki.client, ca: pki.ca } }) },
    });
    closers.push(() => cache.close());
    await cache.getToken('api');
    expect(idp.requests.map((r) => r.path)).toEqual(['/mtls/token']);
  });

  it('an encrypted client key with its passphrase works; a wrong passphrase fails at start naming tls', async () => {
    const tls = { cert: pki.client.cert, key: pki.encryptedClientKey, passphrase: pki.passphrase, ca: pki.ca };
    const source = clientCredentials({ tokenUrl: idp.tokenUrl, clientId: CLIENT_ID, authMethod: 'self_signed_tls_client_auth', tls });
    closers.push(() => source.close?.());
    await expect(source.fetchToken({ source: 'api' }, ctx())).resolves.toMatchObject({ tokenType: 'Bearer' });
    const error = (() => {
      try {
        clientCredentials({ tokenUrl: idp.tokenUrl, clientId: CLIENT_ID, authMethod: 'tls_client_auth', tls: { ...tls, passphrase: 'not-it-at-all' } });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(TokenCacheConfigError);
    expect((error as TokenCacheConfigError).option).toBe('clientCredentials.tls');
    expect(inspect(error)).not.toContain(pki.passphrase);
    expect(inspect(error)).not.toContain('PRIVATE KEY');
  });

  it('no client certificate: a TokenCacheConfigError at start naming tls; half a certificate names the missing half', () => {
    expect(() => clientCredentials({ tokenUrl: idp.tokenUrl, clientId: CLIENT_ID, authMethod: 'tls_client_auth' })).toThrow(
      expect.objectContaining({ name: 'TokenCacheConfigError', option: 'clientCredentials.tls' }),
    );
    expect(() => clientCredentials({ tokenUrl: idp.tokenUrl, clientId: CLIENT_ID, authMethod: 'tls_client_auth', tls: { cert: pki.client.cert } })).toThrow(
      expect.objectContaining({ option: 'clientCredentials.tls.key' }),
    );
  });

  it('a certificate the IdP does not trust is invalid_client (401), not retryable, and no key in the error', async () => {
    const source = clientCredentials({ tokenUrl: idp.tokenUrl, clientId: CLIENT_ID, authMethod: 'tls_client_auth', tls: { ...pki.selfSigned, ca: pki.ca } });
    closers.push(() => source.close?.());
    const error = await source.fetchToken({ source: 'api' }, ctx()).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'TokenFetchError', status: 401, oauthError: 'invalid_client', retryable: false });
    expect(inspect(error, { depth: 5 })).not.toContain('PRIVATE KEY');
  });

  it('without tls.ca the IdP certificate is not trusted: a TokenFetchError that says so, with any authMethod', async () => {
    const source = clientCredentials({ tokenUrl: idp.tokenUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    closers.push(() => source.close?.());
    const error = await source.fetchToken({ source: 'api' }, ctx()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenFetchError);
    expect((error as Error).message).toMatch(/could not be reached \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)/);
    const trusted = clientCredentials({ tokenUrl: idp.tokenUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, tls: { ca: pki.ca } });
    closers.push(() => trusted.close?.());
    await expect(trusted.fetchToken({ source: 'api' }, ctx())).resolves.toMatchObject({ tokenType: 'Bearer' });
  });
});

describe('proxy variables and the fetch option', () => {
  const NAMES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy'];
  let saved: Record<string, string | undefined>;
  let proxy: ForwardProxy;
  beforeEach(async () => {
    saved = Object.fromEntries(NAMES.map((n) => [n, process.env[n]]));
    for (const n of NAMES) delete process.env[n];
    proxy = await startForwardProxy();
    closers.push(() => proxy.close());
  });
  afterEach(() => {
    for (const n of NAMES) {
      if (saved[n] === undefined) delete process.env[n];
      else process.env[n] = saved[n];
    }
  });

  for (const name of ['HTTPS_PROXY', 'https_proxy']) {
    it(`${name}: an https token request (and its discovery) goes through a CONNECT tunnel, with the client certificate inside`, async () => {
      const idp = await startGrantsIdp({ tls: { ...pki.server, ca: pki.ca } });
      closers.push(() => idp.close());
      process.env[name] = proxy.url;
      const source = clientCredentials({ issuer: idp.issuer, clientId: CLIENT_ID, authMethod: 'tls_client_auth', tls: { ...pki.client, ca: pki.ca } });
      closers.push(() => source.close?.());
      await source.fetchToken({ source: 'api' }, ctx());
      const host = new URL(idp.issuer).host;
      expect(proxy.seen.length).toBeGreaterThanOrEqual(1);
      expect(new Set(proxy.seen)).toEqual(new Set([`CONNECT ${host}`]));
      expect(idp.requests[0]!.clientCertificate).toBe(CLIENT_ID);
    });
  }

  for (const name of ['HTTP_PROXY', 'http_proxy']) {
    it(`${name}: a plain http token request goes through the proxy (undici tunnels it with CONNECT)`, async () => {
      const idp = await startGrantsIdp();
      closers.push(() => idp.close());
      process.env[name] = proxy.url;
      const source = tokenExchange({ tokenUrl: idp.tokenUrl, clientId: 'obo', clientSecret: CLIENT_SECRET });
      closers.push(() => source.close?.());
      await source.fetchToken({ source: 'obo', subjectToken: await idp.userToken('alice') }, ctx());
      expect(proxy.seen).toEqual([`CONNECT ${new URL(idp.tokenUrl).host}`]);
      expect(idp.requests).toHaveLength(1);
    });
  }

  for (const name of ['NO_PROXY', 'no_proxy']) {
    it(`${name} lists the IdP host: no proxy is used`, async () => {
      const idp = await startGrantsIdp();
      closers.push(() => idp.close());
      process.env.HTTP_PROXY = proxy.url;
      process.env[name] = '127.0.0.1';
      const source = clientCredentials({ tokenUrl: idp.tokenUrl, clientId: 'svc', clientSecret: CLIENT_SECRET });
      closers.push(() => source.close?.());
      await source.fetchToken({ source: 'api' }, ctx());
      expect(proxy.seen).toEqual([]);
      expect(idp.requests).toHaveLength(1);
    });
  }

  it('a fetch of your own replaces the transport: proxy variables are not applied, your fetch sees every request', async () => {
    const idp = await startGrantsIdp();
    closers.push(() => idp.close());
    process.env.HTTP_PROXY = proxy.url;
    const seen: string[] = [];
    const source = clientCredentials({
      issuer: idp.issuer,
      clientId: 'svc',
      clientSecret: CLIENT_SECRET,
      fetch: async (input, init) => {
        seen.push(`${init?.method ?? 'GET'} ${String(input)}`);
        return fetch(input, init);
      },
    });
    await source.fetchToken({ source: 'api' }, ctx());
    expect(seen).toEqual([`GET ${idp.issuer}/.well-known/openid-configuration`, `POST ${idp.tokenUrl}`]);
    expect(proxy.seen).toEqual([]);
    expect(() => clientCredentials({ tokenUrl: idp.tokenUrl, clientId: 'a', clientSecret: 'b', fetch: 'nope' as never })).toThrow(
      expect.objectContaining({ option: 'clientCredentials.fetch' }),
    );
  });

  it.each([
    [403, false, /refused to open a tunnel .*HTTP 403: the proxy does not allow this destination/],
    [407, false, /HTTP 407, proxy authentication required/],
    [502, true, /refused to open a tunnel .*HTTP 502/],
  ])('a proxy that refuses the tunnel with %i is a TokenFetchError naming the proxy (no credentials) and its status', async (status, retryable, text) => {
    const idp = await startGrantsIdp();
    const refusing = await startForwardProxy({ refuse: status });
    closers.push(() => idp.close(), () => refusing.close());
    const withCredentials = new URL(refusing.url);
    withCredentials.username = 'proxy-user';
    withCredentials.password = 'proxy-Secr3t-pw';
    process.env.HTTP_PROXY = withCredentials.toString();
    const source = clientCredentials({ tokenUrl: idp.tokenUrl, clientId: 'svc', clientSecret: CLIENT_SECRET });
    closers.push(() => source.close?.());
    const error = (await source.fetchToken({ source: 'api' }, ctx()).catch((e: unknown) => e)) as TokenFetchError;
    expect(error).toMatchObject({ name: 'TokenFetchError', retryable });
    expect(error.message).toMatch(text);
    expect(error.message).toContain(`HTTP_PROXY (${new URL(refusing.url).origin})`);
    expect(error.message).toContain(new URL(idp.tokenUrl).host);
    expect(`${error.message}${inspect(error, { depth: 5 })}`).not.toMatch(/proxy-Secr3t-pw|proxy-user/);
    expect(refusing.seen).toEqual([`CONNECT ${new URL(idp.tokenUrl).host}`]);
    expect(idp.requests).toHaveLength(0);
  });

  it('a proxy that cannot be reached is a retryable TokenFetchError', async () => {
    const idp = await startGrantsIdp();
    closers.push(() => idp.close());
    const url = proxy.url;
    await proxy.close();
    process.env.HTTP_PROXY = url;
    const source = clientCredentials({ tokenUrl: idp.tokenUrl, clientId: 'svc', clientSecret: CLIENT_SECRET });
    closers.push(() => source.close?.());
    await expect(source.fetchToken({ source: 'api' }, ctx())).rejects.toMatchObject({ name: 'TokenFetchError', retryable: true });
    expect(idp.requests).toHaveLength(0);
  });
});

afterAll(() => pki?.dispose());
