/**
 * tokenFetch against real parts: the loopback mock IdP issues the tokens, the same recording resource server
 * as the axios client's accepts only those (401 + `WWW-Authenticate: Bearer error="invalid_token"` otherwise).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  getTokenClientToken,
  InjectTokenClient,
  TokenCache,
  TokenCacheConfigError,
  TokenCacheModule,
  TokenFetchError,
  tokenFetch,
  UnknownTokenSourceError,
  type TokenFetch,
} from 'nestjs-token-cache';
import { idpClientCredentials } from './support/idp-token-function.js';
import type { MockIdp } from './support/mock-idp.js';
import {
  closeIdpAndResourceServer,
  expectRetriedOnce,
  resetIdpAndResourceServer,
  startIdpAndResourceServer,
  type ResourceServer,
  type SeenRequest,
} from './support/resource-server.js';

let idp: MockIdp;
let api: ResourceServer;
let cache: TokenCache;
let call: TokenFetch;

beforeAll(async () => {
  ({ idp, api } = await startIdpAndResourceServer());
});
afterAll(() => closeIdpAndResourceServer(idp, api));
beforeEach(() => {
  resetIdpAndResourceServer(idp, api);
  cache = new TokenCache({ sources: { api: idpClientCredentials(idp) } });
  call = tokenFetch(cache, { source: 'api', baseURL: api.url });
});
afterEach(async () => {
  await cache.close();
});

const attemptsAt = (path: string): SeenRequest[] => api.requests.filter((r) => r.url === path);

async function tokenGoesBad(): Promise<string> {
  const res = await call('/warm');
  expect(res.status).toBe(200);
  api.revokeAllSeen();
  return cache.peek('api')!.accessToken;
}

const expectRetried = (path: string, except: string[] = []): [SeenRequest, SeenRequest] => expectRetriedOnce(api, path, except);

describe('tokenFetch: the token on every request', () => {
  it('has the signature of the global fetch and sends Authorization: Bearer <token>, fetched once for many requests', async () => {
    const asFetch: typeof fetch = call;
    for (let i = 0; i < 3; i++) expect((await asFetch(`/things/${i}`)).status).toBe(200);
    expect(idp.tokenRequests).toBe(1);
    const token = cache.peek('api')!.accessToken;
    expect(api.requests.map((r) => r.headers.authorization)).toEqual(Array(3).fill(`Bearer ${token}`));
  });

  it('resolves relative URLs against baseURL; absolute strings, URL objects and Requests are sent as they are', async () => {
    const nested = tokenFetch(cache, { source: 'api', baseURL: `${api.url}/v1/` });
    await nested('orders?x=1');
    await nested('/root');
    await call(`${api.url}/absolute`);
    await call(new URL('/url-object', api.url));
    await call(new Request(`${api.url}/request-object`));
    expect(api.requests.map((r) => r.url)).toEqual(['/v1/orders?x=1', '/root', '/absolute', '/url-object', '/request-object']);
    expect(api.requests.every((r) => r.accepted)).toBe(true);
  });

  it('resolves each path right however many a client calls (resolutions are remembered, 256 at most, then forgotten)', async () => {
    const nested = tokenFetch(cache, { source: 'api', baseURL: `${api.url}/v1/` });
    const paths = Array.from({ length: 600 }, (_, i) => (i % 3 === 0 ? `/p${i % 300}` : `p${i % 300}?q=${i % 300}`));
    for (const path of paths) expect((await nested(path)).status).toBe(200);
    const expected = paths.map((path) => (path.startsWith('/') ? path : `/v1/${path}`));
    expect(api.requests.map((r) => r.url)).toEqual(expected);
  });

  it('keeps the request\'s own headers and never changes the caller\'s init', async () => {
    const headers = new Headers({ 'X-Request-Id': 'r-1', Accept: 'application/json' });
    const init = { method: 'POST', headers, body: '{"a":1}' };
    await call('/own-headers', init);
    expect(headers.has('authorization')).toBe(false);
    expect(init).toEqual({ method: 'POST', headers, body: '{"a":1}' });
    expect(api.requests[0]!.headers).toMatchObject({ 'x-request-id': 'r-1', accept: 'application/json' });
  });

  it('leaves a request with skipTokenCache or an explicit Authorization header alone: no token, no retry, no fetch', async () => {
    const skipped = await call('/public', { skipTokenCache: true });
    const explicit = await call('/explicit', { headers: { authorization: 'Bearer mine' } });
    const explicitRequest = await call(new Request(`${api.url}/explicit-request`, { headers: [['Authorization', 'Bearer mine']] }));
    expect([skipped.status, explicit.status, explicitRequest.status]).toEqual([401, 401, 401]);
    expect(api.requests.map((r) => r.headers.authorization)).toEqual([undefined, 'Bearer mine', 'Bearer mine']);
    expect(idp.tokenRequests).toBe(0);
  });

  it('init.tokenCache picks the key for one request; bad per-request options reject without sending', async () => {
    const alice = await call('/me', { tokenCache: { subject: 'alice', audience: 'orders-api' } });
    expect(await alice.json()).toMatchObject({ aud: 'orders-api' });
    await call('/me');
    expect(cache.entries().map((e) => e.key).sort()).toEqual(['api', 'api|sub=alice|aud=orders-api']);
    for (const [tokenCache, option] of [
      ['alice', 'tokenCache'],
      [{ subject: { id: 1 } }, 'tokenCache.subject'],
      [{ scopes: [1] }, 'tokenCache.scopes'],
    ] as const) {
      const error = await call('/bad', { tokenCache: tokenCache as never }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TokenCacheConfigError);
      expect((error as TokenCacheConfigError).option).toBe(option);
    }
    expect(attemptsAt('/bad')).toHaveLength(0);
  });

  it('uses the fetch option for every attempt', async () => {
    const seen: string[] = [];
    const own = tokenFetch(cache, {
      source: 'api',
      baseURL: api.url,
      fetch: (input, init) => {
        seen.push(`${init?.method ?? 'GET'} ${input instanceof Request ? input.url : String(input)}`);
        return fetch(input, init);
      },
    });
    await tokenGoesBad();
    await own('/custom', { method: 'PUT', body: 'x' });
    expect(seen).toEqual([`PUT ${api.url}/custom`, `PUT ${api.url}/custom`]);
  });
});

describe('tokenFetch: 401 retry', () => {
  it.each([
    ['a string', () => JSON.stringify({ item: 'book', qty: 2 }), { 'content-type': 'application/json' }],
    ['URLSearchParams', () => new URLSearchParams({ a: '1', b: 'two words' }), undefined],
    ['a Blob', () => new Blob(['blob-bytes'], { type: 'application/octet-stream' }), undefined],
    ['an ArrayBuffer', () => new Uint8Array([1, 2, 3, 250]).buffer, undefined],
    ['a Uint8Array', () => new Uint8Array([9, 8, 7]), undefined],
    ['a DataView', () => new DataView(new Uint8Array([4, 5]).buffer), undefined],
  ])('invalidates the sent token and sends %s body again, byte for byte, with only Authorization changed', async (_, body, headers) => {
    const old = await tokenGoesBad();
    const res = await call('/orders?x=1', { method: 'POST', body: body(), headers: { 'X-Request-Id': 'r-1', ...headers } });
    expect(res.status).toBe(200);
    const [first] = expectRetried('/orders?x=1');
    expect(first.token).toBe(old);
    expect(idp.tokenRequests).toBe(2);
    expect(cache.stats().invalidations).toBe(1);
  });

  it('sends a FormData body again byte for byte: encoded once, same boundary, same Content-Type and Content-Length', async () => {
    await tokenGoesBad();
    const form = new FormData();
    form.append('field', 'value');
    form.append('file', new Blob(['file-bytes'], { type: 'text/plain' }), 'a.txt');
    const res = await call('/form', { method: 'POST', body: form, headers: { 'X-Request-Id': 'f-1' } });
    expect(res.status).toBe(200);
    const [first] = expectRetried('/form');
    // The first attempt is what fetch itself sends for a form: multipart with a boundary, a Content-Length.
    const boundary = /^multipart\/form-data; boundary=(.+)$/.exec(String(first.headers['content-type']))![1]!;
    expect(first.body.startsWith(`--${boundary}\r\n`)).toBe(true);
    expect(first.body).toContain('name="file"; filename="a.txt"');
    expect(first.body).toContain('file-bytes');
    expect(Number(first.headers['content-length'])).toBe(first.raw.length);
    expect(first.headers['x-request-id']).toBe('f-1');
  });

  it('a Request made from a FormData is sent again byte for byte', async () => {
    await tokenGoesBad();
    const form = new FormData();
    form.append('field', 'value');
    const res = await call(new Request(`${api.url}/form-request`, { method: 'POST', body: form }));
    expect(res.status).toBe(200);
    expectRetried('/form-request');
  });

  it('clones a Request input before sending, so its body is sent again', async () => {
    await tokenGoesBad();
    const res = await call(new Request(`${api.url}/request-body`, { method: 'PATCH', body: 'patch-body', headers: { 'content-type': 'text/plain' } }));
    expect(res.status).toBe(200);
    const [first] = expectRetried('/request-body');
    expect(first.body).toBe('patch-body');
  });

  it('does not send a ReadableStream body twice (nor a Request made from one): the 401 goes to the caller, the token is dropped', async () => {
    await tokenGoesBad();
    const stream = () => new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode('streamed')), c.close()) });
    const res = await call('/stream', { method: 'POST', body: stream(), duplex: 'half' } as RequestInit);
    expect(res.status).toBe(401);
    expect(attemptsAt('/stream').map((r) => r.body)).toEqual(['streamed']);
    expect(cache.peek('api')).toBeUndefined();
    await call('/warm-again');
    api.revokeAllSeen();
    const viaRequest = await call(new Request(`${api.url}/stream-request`, { method: 'POST', body: stream(), duplex: 'half' } as RequestInit));
    expect(viaRequest.status).toBe(401);
    expect(attemptsAt('/stream-request')).toHaveLength(1);
  });

  it('treats an invalid_token challenge on a 403 or a 2xx reply as a rejection', async () => {
    await tokenGoesBad();
    api.rejectStatus = 403;
    expect((await call('/forbidden-looking')).status).toBe(200);
    api.revokeAllSeen();
    api.rejectStatus = 200;
    expect((await call('/odd-gateway')).status).toBe(200);
    expect(attemptsAt('/odd-gateway').map((r) => r.accepted)).toEqual([false, true]);
    expect(idp.tokenRequests).toBe(3);
  });

  it('resolves with a second 401 like fetch does; the retried token is not invalidated again', async () => {
    await tokenGoesBad();
    api.rejectAll = true;
    const res = await call('/always-401');
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'invalid_token' });
    expect(attemptsAt('/always-401')).toHaveLength(2);
    expect(cache.stats().invalidations).toBe(1);
    expect(cache.peek('api')?.accessToken).toBe(attemptsAt('/always-401')[1]!.token);
  });

  it('50 concurrent requests rejected with one token cause one token fetch and one invalidation', async () => {
    const old = await tokenGoesBad();
    let arrived = 0;
    let releaseAll!: () => void;
    const allArrived = new Promise<void>((resolve) => (releaseAll = resolve));
    api.beforeReply = (seen) => {
      if (seen.token !== old) return;
      if (++arrived === 50) releaseAll();
      return allArrived;
    };
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => call(`/bulk/${i}`, { method: 'POST', body: `n=${i}` })));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(idp.tokenRequests).toBe(2);
    expect(cache.stats().invalidations).toBe(1);
    const retried = api.requests.filter((r) => r.url.startsWith('/bulk/') && r.accepted);
    expect(retried).toHaveLength(50);
    expect(new Set(retried.map((r) => r.token)).size).toBe(1);
    expect(retried.map((r) => r.body).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `n=${i}`).sort());
  });

  it('a 401 that arrives after the token was replaced fetches nothing; its retry uses the new token', async () => {
    await call('/warm');
    const old = cache.peek('api')!.accessToken;
    let releaseLate!: () => void;
    const late = new Promise<void>((resolve) => (releaseLate = resolve));
    let lateArrived!: () => void;
    const held = new Promise<void>((resolve) => (lateArrived = resolve));
    api.beforeReply = (seen) => {
      if (seen.url !== '/late') return;
      lateArrived();
      return late;
    };
    const slow = call('/late');
    await held;
    api.revokeAllSeen();
    await call('/fast');
    const fresh = cache.peek('api')!.accessToken;
    const fetches = idp.tokenRequests;
    api.beforeReply = undefined;
    releaseLate();
    expect((await slow).status).toBe(200);
    expect(idp.tokenRequests).toBe(fetches);
    expect(attemptsAt('/late').map((r) => [r.token, r.accepted])).toEqual([
      [old, false],
      [fresh, true],
    ]);
  });
});

describe('tokenFetch: no token, no request', () => {
  it('rejects with the TokenFetchError and sends nothing when no token can be had, also for the retry', async () => {
    idp.failWith = { status: 503, body: { error: 'temporarily_unavailable' } };
    const error = await call('/never').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenFetchError);
    expect(api.requests).toHaveLength(0);
    idp.failWith = undefined;
    await cache.clear(); // no backoff left over from the first failure
    await tokenGoesBad();
    idp.failWith = { status: 500, body: { error: 'server_error' } };
    const retryError = await call('/retry-fails', { method: 'POST', body: 'x' }).catch((e: unknown) => e);
    expect(retryError).toBeInstanceOf(TokenFetchError);
    expect(attemptsAt('/retry-fails')).toHaveLength(1);
  });

  it('rejects with the network error of fetch when the API cannot be reached', async () => {
    const closed = tokenFetch(cache, { source: 'api', baseURL: 'http://127.0.0.1:1' });
    await expect(closed('/x')).rejects.toThrow(TypeError);
  });

  it('checks its options at once', () => {
    expect(() => tokenFetch(cache, { source: 'nope' })).toThrow(UnknownTokenSourceError);
    expect(() => tokenFetch(cache, { source: '' })).toThrow(expect.objectContaining({ option: 'source' }));
    expect(() => tokenFetch(cache, { source: 'api', baseURL: '/relative' })).toThrow(expect.objectContaining({ option: 'baseURL' }));
    expect(() => tokenFetch(cache, { source: 'api', baseURL: 'ftp://127.0.0.1/' })).toThrow(expect.objectContaining({ option: 'baseURL' }));
    expect(() => tokenFetch(cache, { source: 'api', fetch: 'fetch' as never })).toThrow(expect.objectContaining({ option: 'fetch' }));
    expect(() => tokenFetch(cache, { source: 'api', header: 'Bad Header' })).toThrow(expect.objectContaining({ option: 'header' }));
    expect(() => tokenFetch({} as never, { source: 'api' })).toThrow(TokenCacheConfigError);
  });
});

describe("TokenCacheModule.forFeature({ client: 'fetch' })", () => {
  it('provides a tokenFetch under @InjectTokenClient(name), sharing the cache with axios clients', async () => {
    @Injectable()
    class Users {
      constructor(
        @InjectTokenClient('api-fetch') readonly http: TokenFetch,
        @InjectTokenClient('api-axios') readonly axios: { get(url: string): Promise<{ status: number }> },
      ) {}
    }
    @Module({
      imports: [
        TokenCacheModule.forRoot({ sources: { api: idpClientCredentials(idp) } }),
        TokenCacheModule.forFeature({ name: 'api-fetch', source: 'api', client: 'fetch', baseURL: api.url }),
        TokenCacheModule.forFeature({ name: 'api-axios', source: 'api', baseURL: api.url }),
      ],
      providers: [Users],
    })
    class AppModule {}
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    try {
      const users = app.get(Users);
      expect(typeof users.http).toBe('function');
      expect((await users.http('/nest-fetch')).status).toBe(200);
      expect((await users.axios.get('/nest-axios')).status).toBe(200);
      expect(idp.tokenRequests).toBe(1);
      api.revokeAllSeen();
      expect((await users.http('/nest-retry', { method: 'POST', body: 'b' })).status).toBe(200);
      expect(attemptsAt('/nest-retry').map((r) => [r.accepted, r.body])).toEqual([
        [false, 'b'],
        [true, 'b'],
      ]);
    } finally {
      await app.close();
    }
  });

  it('fails bootstrap for an unknown source; before init and after close a call rejects without sending', async () => {
    @Module({
      imports: [
        TokenCacheModule.forRoot({ sources: { api: idpClientCredentials(idp) } }),
        TokenCacheModule.forFeature({ name: 'unknown-source-fetch', source: 'nope', client: 'fetch', baseURL: api.url }),
      ],
    })
    class BadModule {}
    await expect(NestFactory.createApplicationContext(BadModule, { logger: false })).rejects.toBeInstanceOf(UnknownTokenSourceError);

    @Module({
      imports: [
        TokenCacheModule.forRoot({ sources: { api: idpClientCredentials(idp) } }),
        TokenCacheModule.forFeature({ name: 'closed-fetch', source: 'api', client: 'fetch', baseURL: api.url }),
      ],
    })
    class AppModule {}
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    const client = app.get<TokenFetch>(getTokenClientToken('closed-fetch'), { strict: false });
    expect((await client('/open')).status).toBe(200);
    await app.close();
    const error = await client('/closed').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenCacheConfigError);
    expect(attemptsAt('/closed')).toHaveLength(0);
  });

  it('rejects options of the other client and a bad client name at once', () => {
    expect(() => TokenCacheModule.forFeature({ name: 'x1', source: 'api', client: 'ky' as never })).toThrow(
      expect.objectContaining({ name: 'TokenCacheConfigError', option: 'client' }),
    );
    expect(() => TokenCacheModule.forFeature({ name: 'x2', source: 'api', client: 'fetch', timeout: 5 } as never)).toThrow(
      expect.objectContaining({ name: 'TokenCacheConfigError', option: 'timeout' }),
    );
    expect(() => TokenCacheModule.forFeature({ name: 'x3', source: 'api', client: 'fetch', baseURL: 'not a url' })).toThrow(
      expect.objectContaining({ option: 'baseURL' }),
    );
  });
});
