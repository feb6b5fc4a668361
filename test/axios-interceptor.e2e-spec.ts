/**
 * The Axios interceptor against real parts: the loopback mock IdP issues the tokens, a real HTTP resource
 * server accepts only those (and answers 401 + `WWW-Authenticate: Bearer error="invalid_token"` otherwise).
 */
import { Readable } from 'node:stream';
import axios, { AxiosError, AxiosHeaders, type AxiosInstance } from 'axios';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  attachTokenCache,
  TokenCache,
  TokenCacheConfigError,
  TokenFetchError,
  UnknownTokenSourceError,
} from 'nestjs-token-cache/core';
import { distinctTokensWithAudience, idpClientCredentials } from './support/idp-token-function.js';
import { startMockIdp, type MockIdp } from './support/mock-idp.js';
import { startResourceServer, type ResourceServer } from './support/resource-server.js';

let idp: MockIdp;
let api: ResourceServer;
let cache: TokenCache;
let client: AxiosInstance;
let eject: () => void;

beforeEach(async () => {
  idp = await startMockIdp();
  distinctTokensWithAudience(idp);
  api = await startResourceServer(idp);
  cache = new TokenCache({ sources: { api: idpClientCredentials(idp) } });
  client = axios.create({ baseURL: api.url });
  eject = cache.attach(client, { source: 'api' });
});

afterEach(async () => {
  eject();
  await cache.close();
  await api.close();
  await idp.close();
});


describe('attachTokenCache: the token on every request', () => {
  it('sends Authorization: Bearer <token> from the cache, fetched once for many requests', async () => {
    for (let i = 0; i < 3; i++) expect((await client.get('/things')).status).toBe(200);
    expect(idp.tokenRequests).toBe(1);
    expect(api.requests.map((r) => r.headers.authorization)).toEqual(Array(3).fill(`Bearer ${cache.peek('api')!.accessToken}`));
    expect(api.requests.every((r) => r.accepted)).toBe(true);
  });

  it('asks the cache per request, so a refreshed token is used at once', async () => {
    await client.get('/a');
    const refreshed = await cache.refresh('api');
    await client.get('/b');
    expect(api.requests[1]!.token).toBe(refreshed);
    expect(api.requests[0]!.token).not.toBe(refreshed);
  });

  it('uses the configured header and scheme', async () => {
    const other = axios.create({ baseURL: api.url, validateStatus: () => true });
    const off = attachTokenCache(other, cache, { source: 'api', header: 'X-Api-Token', scheme: '' });
    await other.get('/custom');
    const seen = api.requests[0]!;
    expect(seen.headers.authorization).toBeUndefined();
    await expect(idp.verify(String(seen.headers['x-api-token']))).resolves.toBeTruthy();
    off();
  });

  it('leaves a request with skipTokenCache: true alone (no header, no retry, no fetch)', async () => {
    const error = await client.get('/public', { skipTokenCache: true }).catch((e: unknown) => e);
    expect((error as AxiosError).response?.status).toBe(401);
    expect(api.requests).toHaveLength(1);
    expect(api.requests[0]!.headers.authorization).toBeUndefined();
    expect(idp.tokenRequests).toBe(0);
  });

  it.each([
    ['a plain object, lower-case name', () => ({ authorization: 'Bearer mine' })],
    ['AxiosHeaders', () => new AxiosHeaders({ AUTHORIZATION: 'Bearer mine' })],
  ])('leaves an explicit Authorization header alone (%s): not replaced, not retried', async (_, headers) => {
    const error = await client.get('/explicit', { headers: headers() }).catch((e: unknown) => e);
    expect((error as AxiosError).response?.status).toBe(401);
    expect(api.requests.map((r) => r.headers.authorization)).toEqual(['Bearer mine']);
    expect(idp.tokenRequests).toBe(0);
  });

  it('treats Authorization: false as explicit (axios then sends no header) and an instance default header as explicit', async () => {
    await client.get('/none', { headers: { Authorization: false } }).catch(() => undefined);
    const withDefault = axios.create({ baseURL: api.url, headers: { Authorization: 'Bearer instance-default' } });
    const off = attachTokenCache(withDefault, cache, { source: 'api' });
    await withDefault.get('/default').catch(() => undefined);
    off();
    expect(api.requests.map((r) => [r.url, r.headers.authorization])).toEqual([
      ['/none', undefined],
      ['/default', 'Bearer instance-default'],
    ]);
    expect(idp.tokenRequests).toBe(0);
  });

  it('config.tokenCache picks the key for one request; other requests keep the attach options', async () => {
    const alice = await client.get('/me', { tokenCache: { subject: 'alice', scopes: ['orders:read'] } });
    const plain = await client.get('/me');
    const aliceAgain = await client.get('/me', { tokenCache: { scopes: ['orders:read'], subject: 'alice' } });
    expect(alice.data).toMatchObject({ scope: 'orders:read' });
    expect(plain.data.scope).not.toBe('orders:read');
    expect(aliceAgain.data).toMatchObject({ scope: 'orders:read' });
    expect(idp.tokenRequests).toBe(2);
    expect(api.requests[0]!.token).toBe(api.requests[2]!.token);
    expect(api.requests[0]!.token).not.toBe(api.requests[1]!.token);
    expect(cache.entries().map((e) => e.key).sort()).toEqual(['api', 'api|sub=alice|scope=orders:read']);
  });

  it('attach options pick the key of every request of the instance', async () => {
    const bob = axios.create({ baseURL: api.url });
    const off = cache.attach(bob, { source: 'api', subject: 'bob', audience: 'orders-api' });
    const res = await bob.get('/me');
    expect(res.data).toMatchObject({ aud: 'orders-api' });
    const override = await bob.get('/me', { tokenCache: { subject: 'carol', audience: 'billing-api' } });
    expect(override.data).toMatchObject({ aud: 'billing-api' });
    const bobAgain = await bob.get('/me');
    expect(bobAgain.data).toMatchObject({ aud: 'orders-api' });
    expect(api.requests.map((r) => r.token)).toEqual([api.requests[0]!.token, api.requests[1]!.token, api.requests[0]!.token]);
    expect(api.requests[0]!.token).not.toBe(api.requests[1]!.token);
    expect(cache.entries().map((e) => e.key).sort()).toEqual(['api|sub=bob|aud=orders-api', 'api|sub=carol|aud=billing-api']);
    off();
  });
});

describe('attachTokenCache: 401 retry', () => {
  it('invalidates the rejected token, fetches a fresh one and retries once, keeping method, URL, query, body and headers', async () => {
    await client.get('/warm');
    const old = cache.peek('api')!.accessToken;
    api.revokeAllSeen();
    const res = await client.post('/orders?x=1&y=two', { item: 'book', qty: 2 }, { headers: { 'X-Request-Id': 'r-1' } });
    expect(res.status).toBe(200);
    expect(idp.tokenRequests).toBe(2);
    const [first, retry] = api.requests.slice(1);
    expect(first!.token).toBe(old);
    expect(first!.accepted).toBe(false);
    expect(retry!.accepted).toBe(true);
    expect(retry!.token).not.toBe(old);
    for (const seen of [first!, retry!]) {
      expect(seen.method).toBe('POST');
      expect(seen.url).toBe('/orders?x=1&y=two');
      expect(JSON.parse(seen.body)).toEqual({ item: 'book', qty: 2 });
      expect(seen.headers['x-request-id']).toBe('r-1');
      expect(seen.headers['content-type']).toContain('application/json');
    }
    expect(res.data).toMatchObject({ method: 'POST', url: '/orders?x=1&y=two' });
  });

  it('treats WWW-Authenticate: Bearer error="invalid_token" on a non-401 reply as a rejection', async () => {
    await client.get('/warm');
    api.revokeAllSeen();
    api.rejectStatus = 403;
    const res = await client.get('/forbidden-looking');
    expect(res.status).toBe(200);
    expect(idp.tokenRequests).toBe(2);
  });

  it('treats an invalid_token challenge on a 2xx reply as a rejection too', async () => {
    await client.get('/warm');
    api.revokeAllSeen();
    api.rejectStatus = 200;
    await client.get('/odd-gateway');
    expect(api.requests.map((r) => r.accepted)).toEqual([true, false, true]);
    expect(idp.tokenRequests).toBe(2);
  });

  it('retries a 401 that validateStatus lets through as a success', async () => {
    await client.get('/warm');
    api.revokeAllSeen();
    const res = await client.get('/lenient', { validateStatus: () => true });
    expect(res.status).toBe(200);
    expect(api.requests.map((r) => r.accepted)).toEqual([true, false, true]);
  });

  it('50 concurrent requests rejected with the same token cause exactly one token fetch, and all succeed on retry', async () => {
    await client.get('/warm');
    const old = cache.peek('api')!.accessToken;
    const before = idp.tokenRequests;
    api.revokeAllSeen();
    // Hold every reply until all 50 requests have reached the server with the old token, so that every
    // one of them really gets its 401 while the others are in flight.
    let arrived = 0;
    let releaseAll!: () => void;
    const allArrived = new Promise<void>((resolve) => (releaseAll = resolve));
    api.beforeReply = (seen) => {
      if (seen.token !== old) return;
      if (++arrived === 50) releaseAll();
      return allArrived;
    };
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => client.get(`/bulk/${i}`)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(idp.tokenRequests).toBe(before + 1);
    const rejected = api.requests.filter((r) => r.token === old && !r.accepted);
    const retried = api.requests.filter((r) => r.url.startsWith('/bulk/') && r.accepted);
    expect(rejected).toHaveLength(50);
    expect(retried).toHaveLength(50);
    expect(new Set(retried.map((r) => r.token)).size).toBe(1);
    expect(cache.stats().invalidations).toBe(1);
  });

  it('a 401 that arrives after the token was already replaced causes no fetch; its retry uses the new token', async () => {
    await client.get('/warm');
    const old = cache.peek('api')!.accessToken;
    let releaseLate!: () => void;
    const late = new Promise<void>((resolve) => (releaseLate = resolve));
    let lateArrived!: () => void;
    const lateHeld = new Promise<void>((resolve) => (lateArrived = resolve));
    api.beforeReply = (seen) => {
      if (seen.url !== '/late') return;
      lateArrived();
      return late;
    };
    const slow = client.get('/late');
    await lateHeld;
    api.revokeAllSeen();
    await client.get('/fast'); // 401 -> one fetch -> retried with the new token
    const fresh = cache.peek('api')!.accessToken;
    expect(fresh).not.toBe(old);
    const fetchesBefore = idp.tokenRequests;
    releaseLate();
    const res = await slow;
    expect(res.status).toBe(200);
    expect(idp.tokenRequests).toBe(fetchesBefore);
    expect(cache.peek('api')!.accessToken).toBe(fresh);
    const lateRequests = api.requests.filter((r) => r.url === '/late');
    expect(lateRequests.map((r) => [r.token, r.accepted])).toEqual([
      [old, false],
      [fresh, true],
    ]);
  });

  it('a second 401 goes back to the caller: no loop, and the retried token is not invalidated again', async () => {
    await client.get('/warm');
    api.rejectAll = true;
    const error = await client.get('/always-401').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AxiosError);
    expect((error as AxiosError).response?.status).toBe(401);
    expect(api.requests.filter((r) => r.url === '/always-401')).toHaveLength(2);
    expect(idp.tokenRequests).toBe(2);
    expect(cache.stats().invalidations).toBe(1);
    const retriedToken = api.requests.at(-1)!.token;
    expect(cache.peek('api')?.accessToken).toBe(retriedToken);
    // The next call uses the cache as usual.
    api.rejectAll = false;
    await client.get('/after');
    expect(api.requests.at(-1)!.token).toBe(retriedToken);
    expect(idp.tokenRequests).toBe(2);
  });

  it('does not retry a stream body (it cannot be sent twice), but drops the rejected token', async () => {
    await client.get('/warm');
    api.revokeAllSeen();
    const error = await client
      .post('/upload', Readable.from([Buffer.from('chunk-1'), Buffer.from('chunk-2')]), { headers: { 'content-type': 'application/octet-stream' } })
      .catch((e: unknown) => e);
    expect((error as AxiosError).response?.status).toBe(401);
    const uploads = api.requests.filter((r) => r.url === '/upload');
    expect(uploads).toHaveLength(1);
    expect(uploads[0]!.body).toBe('chunk-1chunk-2');
    expect(cache.peek('api')).toBeUndefined();
    expect((await client.get('/next')).status).toBe(200);
  });

  it('retries a Buffer and a URLSearchParams body (replayable)', async () => {
    await client.get('/warm');
    api.revokeAllSeen();
    const res = await client.post('/form', new URLSearchParams({ a: '1', b: 'two' }));
    expect(res.status).toBe(200);
    const forms = api.requests.filter((r) => r.url === '/form');
    expect(forms.map((r) => r.body)).toEqual(['a=1&b=two', 'a=1&b=two']);
    api.revokeAllSeen();
    const buf = await client.put('/buf', Buffer.from('raw-bytes'));
    expect(buf.status).toBe(200);
    expect(api.requests.filter((r) => r.url === '/buf').map((r) => r.body)).toEqual(['raw-bytes', 'raw-bytes']);
  });
});

describe('attachTokenCache: no token, no request', () => {
  it('does not send the request when no token can be obtained: the caller gets the TokenFetchError', async () => {
    idp.failWith = { status: 503, body: { error: 'temporarily_unavailable' } };
    const error = await client.get('/never').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenFetchError);
    expect((error as TokenFetchError).status).toBe(503);
    expect(api.requests).toHaveLength(0);
  });

  it('when the fresh token for a retry cannot be obtained, the retry is not sent and the caller gets the TokenFetchError', async () => {
    await client.get('/warm');
    api.revokeAllSeen();
    idp.failWith = { status: 500, body: { error: 'server_error' } };
    const error = await client.get('/retry-fails').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenFetchError);
    expect(api.requests.filter((r) => r.url === '/retry-fails')).toHaveLength(1);
  });
});

describe('attachTokenCache: living with other interceptors', () => {
  it('keeps other interceptors working; eject removes only its own', async () => {
    const traces: string[] = [];
    const seenStatuses: number[] = [];
    const reqId = client.interceptors.request.use((config) => {
      config.headers.set('X-Trace', `t-${traces.push('req')}`);
      return config;
    });
    client.interceptors.response.use((res) => {
      seenStatuses.push(res.status);
      return res;
    });
    await client.get('/warm');
    api.revokeAllSeen();
    await client.get('/traced');
    const traced = api.requests.filter((r) => r.url === '/traced');
    expect(traced).toHaveLength(2);
    expect(traced.every((r) => String(r.headers['x-trace']).startsWith('t-'))).toBe(true);

    eject();
    eject(); // idempotent
    const error = await client.get('/after-eject').catch((e: unknown) => e);
    expect((error as AxiosError).response?.status).toBe(401);
    const after = api.requests.filter((r) => r.url === '/after-eject');
    expect(after).toHaveLength(1); // no retry: our request interceptor (which wraps the adapter) is gone
    expect(after[0]!.headers.authorization).toBeUndefined(); // no token: our request interceptor is gone
    expect(after[0]!.headers['x-trace']).toBeDefined(); // theirs still runs
    expect(seenStatuses.length).toBeGreaterThan(0);
    client.interceptors.request.eject(reqId);
  });

  it('two instances attached to one cache share one token', async () => {
    const second = axios.create({ baseURL: api.url });
    const off = attachTokenCache(second, cache, { source: 'api' });
    await Promise.all([client.get('/one'), second.get('/two'), client.get('/three'), second.get('/four')]);
    expect(idp.tokenRequests).toBe(1);
    expect(new Set(api.requests.map((r) => r.token)).size).toBe(1);
    off();
  });
});

describe('attachTokenCache: bad input', () => {
  it('throws at attach time for an unknown source, a bad option or something that is not an axios instance', () => {
    const inst = axios.create();
    expect(() => attachTokenCache(inst, cache, { source: 'nope' })).toThrow(UnknownTokenSourceError);
    expect(() => attachTokenCache(inst, cache, { source: '' })).toThrow(expect.objectContaining({ name: 'TokenCacheConfigError', option: 'source' }));
    expect(() => attachTokenCache(inst, cache, { source: 'api', header: 'Bad Header' })).toThrow(
      expect.objectContaining({ name: 'TokenCacheConfigError', option: 'header' }),
    );
    expect(() => attachTokenCache(inst, cache, { source: 'api', scheme: 'Two words' })).toThrow(
      expect.objectContaining({ option: 'scheme' }),
    );
    expect(() => attachTokenCache({} as never, cache, { source: 'api' })).toThrow(expect.objectContaining({ option: 'instance' }));
    expect(() => attachTokenCache(inst, {} as never, { source: 'api' })).toThrow(TokenCacheConfigError);
    expect(inst.interceptors.request.handlers?.filter(Boolean) ?? []).toHaveLength(0);
  });

  it('rejects a request whose tokenCache option is not an object, without sending it', async () => {
    const error = await client.get('/bad', { tokenCache: 'alice' as never }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenCacheConfigError);
    expect((error as TokenCacheConfigError).option).toBe('tokenCache');
    expect(api.requests).toHaveLength(0);
  });

  it('rejects per-request key fields that are not strings, so two subjects can never share a key', async () => {
    for (const [tokenCache, option] of [
      [{ subject: { id: 1 } }, 'tokenCache.subject'],
      [{ audience: 42 }, 'tokenCache.audience'],
      [{ resource: ['x'] }, 'tokenCache.resource'],
    ] as const) {
      const error = await client.get('/bad', { tokenCache: tokenCache as never }).catch((e: unknown) => e);
      expect((error as TokenCacheConfigError).option).toBe(option);
    }
    expect(api.requests).toHaveLength(0);
  });
});
