/**
 * The axios retry is invisible: a request rejected for its token is sent again below the interceptors and
 * transforms, byte for byte, with only Authorization changed, and its reply goes up the response path once.
 * Against a real resource server on loopback that records the exact bytes and headers it got. The vitest
 * project `axios-lowest` runs this same file with `axios` resolved to the lowest version of the peer range.
 */
import { Readable } from 'node:stream';
import { HttpModule, HttpService } from '@nestjs/axios';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import axios, { AxiosError, type AxiosInstance, type AxiosResponse } from 'axios';

const VERSION = axios.VERSION;
import { firstValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { attachTokenCache, TokenCache, TokenFetchError } from 'nestjs-token-cache/core';
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
const ejects: (() => void)[] = [];

beforeAll(async () => {
  ({ idp, api } = await startIdpAndResourceServer());
});
afterAll(() => closeIdpAndResourceServer(idp, api));
beforeEach(() => {
  resetIdpAndResourceServer(idp, api);
  cache = new TokenCache({ sources: { api: idpClientCredentials(idp) } });
});
afterEach(async () => {
  while (ejects.length > 0) ejects.pop()!();
  await cache.close();
});

function attached(instance: AxiosInstance): AxiosInstance {
  ejects.push(attachTokenCache(instance, cache, { source: 'api' }));
  return instance;
}

/** Gets a token into the cache with one accepted call, then revokes it: the next request's first attempt gets a 401. */
async function tokenGoesBad(client: AxiosInstance): Promise<string> {
  await client.get('/warm', { transformResponse: [(d: unknown) => d] });
  const token = cache.peek('api')!.accessToken;
  api.revokeAllSeen();
  return token;
}

const attemptsAt = (path: string): SeenRequest[] => api.requests.filter((r) => r.url === path);

/** Two attempts at `path`: the first rejected, the retry accepted, same bytes and headers but the token. */
function expectInvisibleRetry(path: string, { except = [] as string[] } = {}): [SeenRequest, SeenRequest] {
  const attempts = expectRetriedOnce(api, path, except);
  for (const seen of attempts) {
    const length = seen.headers['content-length'];
    if (length !== undefined) expect(Number(length)).toBe(seen.raw.length);
  }
  // Nothing but the two attempts reached the server: no body bytes read as a request of their own.
  expect(api.requests.filter((r) => !r.url.startsWith('/warm')).map((r) => r.url)).toEqual([path, path]);
  return attempts;
}

describe(`axios ${VERSION}: the 401 retry below the interceptors`, () => {
  it('runs against the axios the project resolves (the lowest of the peer range in the axios-lowest project)', () => {
    const expected = process.env.TOKEN_CACHE_EXPECT_AXIOS;
    if (expected !== undefined) expect(VERSION).toBe(expected);
    expect(axios.VERSION).toBe(VERSION);
  });

  it('sends the bytes a transformRequest made once, with a correct Content-Length (camelCase -> snake_case JSON)', async () => {
    const snake = (o: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]));
    let transforms = 0;
    const client = attached(
      axios.create({
        baseURL: api.url,
        transformRequest: [
          (data: unknown, headers) => {
            transforms++;
            if (data === undefined) return data;
            headers.set('Content-Type', 'application/json');
            return JSON.stringify(snake(data as Record<string, unknown>));
          },
        ],
      }),
    );
    await tokenGoesBad(client);
    transforms = 0;
    const res = await client.post('/orders', { orderId: 7, customerName: 'Ada Lovelace', lineItems: [{ skuCode: 'b-1' }] });
    expect(res.status).toBe(200);
    expect(transforms).toBe(1);
    const [first] = expectInvisibleRetry('/orders');
    expect(first.body).toBe('{"order_id":7,"customer_name":"Ada Lovelace","line_items":[{"skuCode":"b-1"}]}');
    expect(res.data).toMatchObject({ body: first.body });
  });

  it('runs transformResponse and the response interceptors once: a retried call has the shape of one that needed none', async () => {
    let responseTransforms = 0;
    let unwraps = 0;
    const client = attached(
      axios.create({
        baseURL: api.url,
        transformResponse: [
          (data: unknown) => {
            responseTransforms++;
            return { parsed: typeof data === 'string' ? JSON.parse(data) : data };
          },
        ],
      }),
    );
    client.interceptors.response.use((r: AxiosResponse) => {
      unwraps++;
      return r.data;
    });
    const plain = (await client.get('/shape')) as unknown as { parsed: { ok: boolean; url: string } };
    expect(plain).toMatchObject({ parsed: { ok: true, url: '/shape' } });
    api.revokeAllSeen();
    responseTransforms = 0;
    unwraps = 0;
    const retried = (await client.get('/shape')) as unknown as { parsed: { ok: boolean; url: string } };
    expect(retried).toEqual(plain);
    expect(responseTransforms).toBe(1);
    expect(unwraps).toBe(1);
  });

  it('does not run request interceptors again: a body wrapped by one is wrapped once, on both attempts', async () => {
    const client = attached(axios.create({ baseURL: api.url }));
    let wraps = 0;
    client.interceptors.request.use((config) => {
      wraps++;
      if (config.data !== undefined) config.data = { envelope: config.data };
      return config;
    });
    await tokenGoesBad(client);
    wraps = 0;
    await client.post('/wrapped', { n: 1 });
    expect(wraps).toBe(1);
    const [first] = expectInvisibleRetry('/wrapped');
    expect(JSON.parse(first.body)).toEqual({ envelope: { n: 1 } });
  });

  it.each([
    ['a JSON object', () => ({ a: 1, b: ['x', 'y'], c: { d: null } }), undefined],
    ['a string', () => 'plain text body', { 'Content-Type': 'text/plain' }],
    ['URLSearchParams', () => new URLSearchParams({ grant: 'x y', n: '1' }), undefined],
    ['a Buffer', () => Buffer.from([0, 1, 2, 250, 255]), { 'Content-Type': 'application/octet-stream' }],
    ['a Uint8Array', () => new Uint8Array([9, 8, 7]), { 'Content-Type': 'application/octet-stream' }],
  ])('retries %s body byte for byte', async (_, body, headers) => {
    const client = attached(axios.create({ baseURL: api.url }));
    await tokenGoesBad(client);
    const res = await client.put('/body', body(), headers === undefined ? {} : { headers });
    expect(res.status).toBe(200);
    expectInvisibleRetry('/body');
  });

  it.each([
    ['no Content-Type', {}, undefined],
    ['Content-Type multipart/form-data without a boundary', { 'Content-Type': 'multipart/form-data' }, undefined],
    ['a boundary of its own', { 'Content-Type': 'multipart/form-data; boundary=my-own-boundary-123' }, undefined],
    ['the fetch adapter', {}, 'fetch' as const],
  ])('retries a FormData body byte for byte (%s): same boundary, same bytes, same Content-Length', async (_, headers, adapter) => {
    const client = attached(axios.create({ baseURL: api.url, ...(adapter !== undefined && { adapter }) }));
    await tokenGoesBad(client);
    const form = new FormData();
    form.append('field', 'value');
    form.append('file', new Blob(['file-bytes'], { type: 'text/plain' }), 'a.txt');
    const res = await client.post('/form', form, { headers });
    expect(res.status).toBe(200);
    const [first] = expectInvisibleRetry('/form');
    const boundary = /^multipart\/form-data; boundary=(.+)$/.exec(String(first.headers['content-type']))![1]!;
    if ('Content-Type' in headers && headers['Content-Type'].includes('boundary=')) expect(boundary).toBe('my-own-boundary-123');
    expect(first.body.startsWith(`--${boundary}\r\n`)).toBe(true);
    expect(first.body).toContain('name="file"; filename="a.txt"');
    expect(first.body).toContain('file-bytes');
  });

  // In Node, axios' own transformRequest turns a plain object sent as multipart/form-data (postForm, or a
  // multipart Content-Type) into an instance of the form-data package, a stream: its in-memory parts are sent
  // as the package's own bytes, so a retry sends them again.
  it.each([
    ['postForm(plain object)', (c: AxiosInstance) => c.postForm('/form', { title: 'report', n: 1, tags: ['a', 'b'] }), undefined],
    ['post(plain object) with Content-Type multipart/form-data', (c: AxiosInstance) => c.post('/form', { title: 'report', n: 1 }, { headers: { 'Content-Type': 'multipart/form-data' } }), undefined],
    ['postForm(plain object), fetch adapter', (c: AxiosInstance) => c.postForm('/form', { title: 'report', n: 1 }), 'fetch' as const],
    ['a form-data package instance with in-memory parts', (c: AxiosInstance) => {
      const form = new (axios.defaults.env!.FormData as unknown as new () => { append(k: string, v: unknown, o?: unknown): void })();
      form.append('title', 'report');
      form.append('file', Buffer.from([0, 1, 2, 255]), { filename: 'a.bin', contentType: 'application/octet-stream' });
      return c.post('/form', form);
    }, undefined],
  ])('retries %s byte for byte: same boundary, same bytes, same Content-Length', async (_, send, adapter) => {
    const client = attached(axios.create({ baseURL: api.url, ...(adapter !== undefined && { adapter }) }));
    await tokenGoesBad(client);
    const res = await send(client);
    expect(res.status).toBe(200);
    const [first] = expectInvisibleRetry('/form');
    const boundary = /^multipart\/form-data; boundary=(.+)$/.exec(String(first.headers['content-type']))![1]!;
    expect(first.body.startsWith(`--${boundary}\r\n`)).toBe(true);
    expect(first.body).toContain('name="title"');
    expect(first.body).toContain('report');
    expect(first.body.trimEnd().endsWith(`--${boundary}--`)).toBe(true);
  });

  it('an empty multipart form (postForm({})) is sent as no bytes, as axios alone sends it, on both attempts', async () => {
    const client = attached(axios.create({ baseURL: api.url }));
    await tokenGoesBad(client);
    expect((await client.postForm('/form-empty', {})).status).toBe(200);
    const [first, second] = expectInvisibleRetry('/form-empty');
    expect([first.raw.length, second.raw.length]).toEqual([0, 0]);
  });

  it('does not retry a form-data package instance with a stream part: the 401 goes to the caller, the token is dropped', async () => {
    const client = attached(axios.create({ baseURL: api.url }));
    await tokenGoesBad(client);
    const form = new (axios.defaults.env!.FormData as unknown as new () => { append(k: string, v: unknown, o?: unknown): void })();
    form.append('title', 'report');
    form.append('file', Readable.from([Buffer.from('streamed')]), { filename: 's.txt', knownLength: 8 });
    const error = await client.post('/form-stream', form).catch((e: unknown) => e);
    expect((error as AxiosError).response?.status).toBe(401);
    expect(attemptsAt('/form-stream')).toHaveLength(1);
    expect(attemptsAt('/form-stream')[0]!.body).toContain('streamed');
    expect(cache.peek('api')?.accessToken).toBeUndefined();
  });

  it('does not retry a stream body, hands the 401 to the caller once, and drops the rejected token', async () => {
    const client = attached(axios.create({ baseURL: api.url }));
    let errors = 0;
    client.interceptors.response.use(undefined, (e: unknown) => {
      errors++;
      throw e;
    });
    const old = await tokenGoesBad(client);
    const error = await client.post('/stream', Readable.from([Buffer.from('a'), Buffer.from('b')]), { headers: { 'Content-Type': 'application/octet-stream' } }).catch((e: unknown) => e);
    expect((error as AxiosError).response?.status).toBe(401);
    expect(errors).toBe(1);
    expect(attemptsAt('/stream').map((r) => r.body)).toEqual(['ab']);
    expect(cache.peek('api')?.accessToken).toBeUndefined();
    expect(old).toBeTruthy();
  });

  it('a second 401 reaches the error interceptors once, transformed once, and its token is not invalidated again', async () => {
    let transforms = 0;
    const client = attached(
      axios.create({
        baseURL: api.url,
        transformResponse: [
          (data: unknown) => {
            transforms++;
            return typeof data === 'string' && data !== '' ? JSON.parse(data) : data;
          },
        ],
      }),
    );
    let errors = 0;
    client.interceptors.response.use(undefined, (e: unknown) => {
      errors++;
      throw e;
    });
    await tokenGoesBad(client);
    api.rejectAll = true;
    transforms = 0;
    const error = (await client.get('/always').catch((e: unknown) => e)) as AxiosError;
    expect(error.response?.status).toBe(401);
    expect(error.response?.data).toEqual({ error: 'invalid_token' });
    expect(transforms).toBe(1);
    expect(errors).toBe(1);
    expect(attemptsAt('/always')).toHaveLength(2);
    expect(cache.stats().invalidations).toBe(1);
    expect(cache.peek('api')?.accessToken).toBe(attemptsAt('/always')[1]!.token);
  });

  it('invalidates the token the cache handed out even when a later interceptor rewrote the header', async () => {
    const client = axios.create({ baseURL: api.url });
    // Registered before attach: axios runs it after ours, so it sees (and spoils) our header.
    client.interceptors.request.use((config) => {
      config.headers.set('Authorization', `Bearer ${String(config.headers.get('Authorization')).slice(7)}-tampered`);
      return config;
    });
    attached(client);
    await client.get('/warm').catch(() => undefined);
    const handedOut = cache.peek('api')!.accessToken;
    const invalidations = cache.stats().invalidations;
    api.requests.length = 0;
    const res = await client.get('/tampered');
    // The handed-out token was invalidated (not the tampered string, which the cache never held); the retry
    // carries the next token as the cache handed it out (request interceptors do not run again).
    expect(res.status).toBe(200);
    const [first, retry] = attemptsAt('/tampered');
    expect(first!.token).toBe(`${handedOut}-tampered`);
    expect(retry!.token).toBe(cache.peek('api')!.accessToken);
    expect(retry!.token).not.toBe(handedOut);
    expect(cache.stats().invalidations).toBe(invalidations + 1);
    expect(idp.tokenRequests).toBeGreaterThan(0);
  });

  it('retries with responseType stream: the first reply is released, the caller gets the retry\'s stream', async () => {
    const client = attached(axios.create({ baseURL: api.url }));
    await tokenGoesBad(client);
    const res = await client.get('/streamed', { responseType: 'stream' });
    const chunks: Buffer[] = [];
    for await (const chunk of res.data as Readable) chunks.push(Buffer.from(chunk as Buffer));
    expect(JSON.parse(Buffer.concat(chunks).toString('utf8'))).toMatchObject({ ok: true, url: '/streamed' });
    expect(attemptsAt('/streamed').map((a) => a.accepted)).toEqual([false, true]);
  });

  it('with the fetch adapter too', async () => {
    const client = attached(axios.create({ baseURL: api.url, adapter: 'fetch' }));
    await tokenGoesBad(client);
    const res = await client.post('/via-fetch', { x: 1 });
    expect(res.status).toBe(200);
    expectInvisibleRetry('/via-fetch');
  });

  it('a retry whose fresh token cannot be had is not sent: the caller gets the TokenFetchError', async () => {
    const client = attached(axios.create({ baseURL: api.url }));
    await tokenGoesBad(client);
    idp.failWith = { status: 503, body: { error: 'temporarily_unavailable' } };
    const error = await client.post('/no-token', { a: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenFetchError);
    expect(attemptsAt('/no-token')).toHaveLength(1);
  });

  it('a config sent again through the instance (a retry library) gets a current token and one retry of its own', async () => {
    const client = attached(axios.create({ baseURL: api.url }));
    api.rejectAll = true;
    const error = (await client.post('/again', { a: 1 }).catch((e: unknown) => e)) as AxiosError;
    expect(error.response?.status).toBe(401);
    api.rejectAll = false;
    const res = await client.request(error.config!);
    expect(res.status).toBe(200);
    const attempts = attemptsAt('/again');
    expect(attempts.map((a) => a.accepted)).toEqual([false, false, true]);
    expect(attempts[2]!.token).toBe(cache.peek('api')!.accessToken);
    expect(attempts[2]!.body).toBe('{"a":1}');
  });

  it('works the same through @nestjs/axios HttpService', async () => {
    @Injectable()
    class Caller {
      constructor(readonly http: HttpService) {}
    }
    @Module({ imports: [HttpModule.register({ baseURL: api.url })], providers: [Caller] })
    class AppModule {}
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    try {
      const { http } = app.get(Caller);
      ejects.push(cache.attach(http, { source: 'api' }));
      let unwraps = 0;
      http.axiosRef.interceptors.response.use((r: AxiosResponse) => {
        unwraps++;
        return r;
      });
      await firstValueFrom(http.get('/warm'));
      api.revokeAllSeen();
      unwraps = 0;
      const res = await firstValueFrom(http.post('/nest', { hello: 'world' }));
      expect(res.status).toBe(200);
      expect(unwraps).toBe(1);
      expectInvisibleRetry('/nest');
    } finally {
      await app.close();
    }
  });
});
