/**
 * DPoP on API requests (RFC 9449 §7, §9) through both HTTP clients, the axios interceptor and `tokenFetch`,
 * against a resource server that verifies every proof (signature, htm/htu, iat, unique jti, ath, the token's
 * cnf.jkt) and demands a nonce, with tokens from oidc-provider bound to the source's key.
 */
import axios, { AxiosError, type AxiosInstance } from 'axios';
import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clientCredentials, TokenCache, tokenFetch, type TokenSource } from 'nestjs-token-cache/core';
import { DPOP_CLIENT, startDPoPIdp, type DPoPIdp } from './support/oidc-idp.js';
import { startDPoPResourceServer, type DPoPResourceServer } from './support/dpop-resource-server.js';
import { startMockIdp, type MockIdp } from './support/mock-idp.js';
import { startResourceServer, type ResourceServer } from './support/resource-server.js';

type Client = (method: string, path: string, body?: string) => Promise<{ status: number; data: Record<string, unknown> }>;

describe.each(['axios', 'fetch'] as const)('DPoP through %s', (kind) => {
  let idp: DPoPIdp;
  let rs: DPoPResourceServer;
  let cache: TokenCache;
  let client: Client;
  let eject: () => void = () => undefined;

  beforeAll(async () => {
    idp = await startDPoPIdp();
  });
  afterAll(async () => {
    await idp.close();
  });
  beforeEach(async () => {
    rs = await startDPoPResourceServer(idp);
    cache = new TokenCache({
      sources: { api: clientCredentials({ tokenUrl: idp.tokenUrl, clientId: DPOP_CLIENT.id, clientSecret: DPOP_CLIENT.secret, scope: 'read', dpop: true }) },
    });
    if (kind === 'axios') {
      const instance: AxiosInstance = axios.create({ baseURL: rs.url, validateStatus: () => true });
      eject = cache.attach(instance, { source: 'api' });
      client = async (method, path, body) => {
        const res = await instance.request({ method, url: path, data: body, headers: body ? { 'content-type': 'text/plain' } : {} });
        return { status: res.status, data: res.data as Record<string, unknown> };
      };
    } else {
      const f = tokenFetch(cache, { source: 'api', baseURL: rs.url });
      client = async (method, path, body) => {
        const res = await f(path, { method, body, headers: body ? { 'content-type': 'text/plain' } : {} });
        return { status: res.status, data: (await res.json()) as Record<string, unknown> };
      };
    }
  });
  afterEach(async () => {
    eject();
    await cache.close();
    await rs.close();
  });

  it('sends Authorization: DPoP with a verified proof; the nonce demand is answered with one retry that keeps the token', async () => {
    const res = await client('GET', '/orders?page=2');
    expect(res.status).toBe(200);
    expect(res.data).toMatchObject({ scheme: 'DPoP', jkt: cache.dpopKey('api')!.thumbprint });
    expect(rs.requests.map((r) => [r.status, r.reason])).toEqual([
      [401, 'nonce missing'],
      [200, undefined],
    ]);
    expect(rs.requests[0]!.token).toBe(rs.requests[1]!.token);
    expect(rs.requests[1]!.proof!.payload).toMatchObject({ htm: 'GET', htu: `${rs.url}/orders`, nonce: rs.nonce });
    expect(cache.stats()).toMatchObject({ fetches: 1, invalidations: 0 });
    // The nonce is kept: the next request needs no retry, and carries a new proof.
    expect((await client('GET', '/orders')).status).toBe(200);
    expect(rs.requests).toHaveLength(3);
    expect(rs.requests[2]!.proof!.payload.jti).not.toBe(rs.requests[1]!.proof!.payload.jti);
  });

  it('a POST retry re-sends the same body with a new proof for POST', async () => {
    const res = await client('POST', '/orders', 'item=42&qty=1');
    expect(res.status).toBe(200);
    expect(res.data.body).toBe('item=42&qty=1');
    expect(rs.requests.map((r) => r.body)).toEqual(['item=42&qty=1', 'item=42&qty=1']);
    expect(rs.requests[1]!.proof!.payload.htm).toBe('POST');
  });

  it('a rotated nonce: one more retry with the new nonce, still no invalidation', async () => {
    await client('GET', '/a');
    const next = rs.rotateNonce();
    expect((await client('GET', '/b')).status).toBe(200);
    expect(rs.requests.slice(2).map((r) => [r.status, r.reason])).toEqual([
      [401, 'nonce stale'],
      [200, undefined],
    ]);
    expect(rs.requests[3]!.proof!.payload.nonce).toBe(next);
    expect(cache.stats()).toMatchObject({ fetches: 1, invalidations: 0 });
  });

  it('a rejected (revoked) token is invalidated and the retry carries a new token with a proof over it', async () => {
    await client('GET', '/a');
    const first = rs.requests[1]!.token!;
    rs.revoked.add(first);
    expect((await client('GET', '/b')).status).toBe(200);
    const [rejected, retried] = rs.requests.slice(2);
    expect(rejected).toMatchObject({ status: 401, token: first });
    expect(retried!.token).not.toBe(first);
    expect(retried!.status).toBe(200);
    expect(decodeJwt(retried!.headers.dpop as string).ath).not.toBe(decodeJwt(rejected!.headers.dpop as string).ath);
    expect(cache.stats()).toMatchObject({ fetches: 2, invalidations: 1 });
  });

  it('concurrent requests each retry once for the nonce, and share one token fetch', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => client('GET', `/c/${i}`)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(rs.requests.filter((r) => r.status === 200)).toHaveLength(8);
    expect(rs.requests.filter((r) => r.status === 401).every((r) => r.reason === 'nonce missing')).toBe(true);
    expect(cache.stats()).toMatchObject({ fetches: 1, invalidations: 0 });
    expect(new Set(rs.requests.map((r) => r.proof?.payload.jti).filter(Boolean)).size).toBe(8);
  });

  it('a second nonce demand in a row goes back to the caller (one retry only, nothing invalidated)', async () => {
    rs.rotateOnEveryRequest = true;
    const res = await client('GET', '/b');
    expect(res.status).toBe(401);
    expect(rs.requests.map((r) => r.reason)).toEqual(['nonce missing', 'nonce stale']);
    expect(cache.stats()).toMatchObject({ fetches: 1, invalidations: 0 });
  });

  it('a use_dpop_nonce 401 on the retry: no third attempt, the caller gets that reply, and its nonce is used next', async () => {
    rs.rotateOnEveryRequest = true;
    const res = await client('GET', '/b');
    expect(res.status).toBe(401);
    expect(res.data).toEqual({ error: 'nonce stale' });
    expect(rs.requests).toHaveLength(2);
    const sentWithRetry = rs.requests[1]!.nonceSent!;
    expect(sentWithRetry).toBeDefined();
    // The server now takes the nonce it sent with the retry's 401: the next request carries it at once.
    rs.rotateOnEveryRequest = false;
    rs.nonce = sentWithRetry;
    expect((await client('GET', '/c')).status).toBe(200);
    expect(rs.requests).toHaveLength(3);
    expect(rs.requests[2]!.proof!.payload.nonce).toBe(sentWithRetry);
    expect(cache.stats()).toMatchObject({ fetches: 1, invalidations: 0 });
  });

  it('a new DPoP-Nonce on the retry\'s successful reply is used by the next request (no new nonce demand)', async () => {
    rs.rotateOnSuccess = true;
    expect((await client('GET', '/a')).status).toBe(200);
    expect(rs.requests.map((r) => r.status)).toEqual([401, 200]);
    const announced = rs.requests[1]!.nonceSent!;
    expect(announced).toBeDefined();
    expect(rs.requests[1]!.proof!.payload.nonce).not.toBe(announced);
    rs.rotateOnSuccess = false;
    expect((await client('GET', '/b')).status).toBe(200);
    expect(rs.requests).toHaveLength(3);
    expect(rs.requests[2]!.proof!.payload.nonce).toBe(announced);
    expect(cache.stats()).toMatchObject({ fetches: 1, invalidations: 0 });
  });
});

describe('DPoP through axios with its default validateStatus: the retry\'s reply is classified on the error path too', () => {
  let idp: DPoPIdp;
  let rs: DPoPResourceServer;
  let cache: TokenCache;

  beforeAll(async () => {
    idp = await startDPoPIdp();
    rs = await startDPoPResourceServer(idp);
    cache = new TokenCache({
      sources: { api: clientCredentials({ tokenUrl: idp.tokenUrl, clientId: DPOP_CLIENT.id, clientSecret: DPOP_CLIENT.secret, scope: 'read', dpop: true }) },
    });
  });
  afterAll(async () => {
    await cache.close();
    await rs.close();
    await idp.close();
  });

  it('a use_dpop_nonce 401 on the retry rejects with that reply once, its nonce kept', async () => {
    const instance = axios.create({ baseURL: rs.url });
    const eject = cache.attach(instance, { source: 'api' });
    try {
      rs.rotateOnEveryRequest = true;
      const error = (await instance.get('/b').catch((e: unknown) => e)) as AxiosError;
      expect(error).toBeInstanceOf(AxiosError);
      expect(error.response?.status).toBe(401);
      expect(error.response?.data).toEqual({ error: 'nonce stale' });
      expect(rs.requests).toHaveLength(2);
      rs.rotateOnEveryRequest = false;
      rs.nonce = rs.requests[1]!.nonceSent;
      expect((await instance.get('/c')).status).toBe(200);
      expect(rs.requests).toHaveLength(3);
      expect(rs.requests[2]!.proof!.payload.nonce).toBe(rs.requests[1]!.nonceSent);
    } finally {
      eject();
    }
  });

  it('an interceptor that runs after ours (added before attach) and rewrites the URL and method: the proof covers what is sent, no 401, no new token', async () => {
    const instance = axios.create({ baseURL: rs.url });
    // axios runs request interceptors in reverse order of use(): this one runs after the token interceptor.
    instance.interceptors.request.use((config) => ({ ...config, url: `/v2${config.url}`, method: 'put' }));
    const eject = cache.attach(instance, { source: 'api' });
    try {
      expect((await instance.get('/warm')).status).toBe(200);
      const fetches = cache.stats().fetches;
      rs.requests.length = 0;
      for (let i = 0; i < 3; i++) expect((await instance.get(`/items/${i}`)).status).toBe(200);
      expect(rs.requests.map((r) => r.status)).toEqual([200, 200, 200]);
      expect(rs.requests.map((r) => r.proof!.payload.htu)).toEqual([0, 1, 2].map((i) => `${rs.url}/v2/items/${i}`));
      expect(rs.requests.every((r) => r.proof!.payload.htm === 'PUT')).toBe(true);
      expect(cache.stats().fetches).toBe(fetches);
    } finally {
      eject();
    }
  });
});

describe.each(['axios', 'fetch'] as const)('a DPoP source\'s next token is Bearer-typed: %s never resends the first attempt\'s proof', (kind) => {
  let idp: MockIdp;
  let api: ResourceServer;

  beforeAll(async () => {
    idp = await startMockIdp();
    api = await startResourceServer(idp);
  });
  afterAll(async () => {
    await api.close();
    await idp.close();
  });

  it('the retry carries Authorization: Bearer and no DPoP header; only the token headers differ', async () => {
    const inner = clientCredentials({ tokenUrl: idp.tokenUrl, clientId: 'stale-proof', clientSecret: 'stale-proof-secret' });
    const keyed = clientCredentials({ tokenUrl: idp.tokenUrl, clientId: 'stale-proof', clientSecret: 'stale-proof-secret', dpop: true });
    let calls = 0;
    // The first token is DPoP-typed (the API does not know it: 401); the IdP then issues an unbound Bearer token.
    const source: TokenSource = {
      kind: 'custom',
      dpopKey: keyed.dpopKey,
      fetchToken: async (request, context) => (++calls === 1 ? { accessToken: 'dpop-bound-elsewhere', tokenType: 'DPoP', expiresIn: 3600 } : inner.fetchToken(request, context)),
    };
    const cache = new TokenCache({ sources: { api: source } });
    try {
      let status: number;
      if (kind === 'axios') {
        const instance = axios.create({ baseURL: api.url, validateStatus: () => true });
        const eject = cache.attach(instance, { source: 'api' });
        status = (await instance.post('/stale-proof', 'a=1', { headers: { 'content-type': 'text/plain', 'x-trace': 't1' } })).status;
        eject();
      } else {
        const f = tokenFetch(cache, { source: 'api', baseURL: api.url });
        status = (await f('/stale-proof', { method: 'POST', body: 'a=1', headers: { 'content-type': 'text/plain', 'x-trace': 't1' } })).status;
      }
      expect(status).toBe(200);
      const [first, retry] = api.requests.filter((r) => r.url === '/stale-proof');
      expect(first!.headers.authorization).toBe('DPoP dpop-bound-elsewhere');
      expect(first!.headers.dpop).toBeDefined();
      expect(retry!.headers.authorization).toMatch(/^Bearer /);
      expect(retry!.headers.dpop).toBeUndefined();
      expect(retry!.headers['x-trace']).toBe('t1');
      expect(retry!.body).toBe('a=1');
      expect(cache.stats()).toMatchObject({ fetches: 2, invalidations: 1 });
    } finally {
      await cache.close();
    }
  });
});
