/**
 * An axios call that waits for a token ends when its signal aborts, its cancel token is canceled or its
 * `timeout` runs out, as a call without the token cache would: at once, with axios' own error, nothing sent;
 * the token fetch it waited on goes on for the other callers and lands in the cache. Against a slow real IdP
 * (token requests held until the test releases them) and the recording resource server. The `axios-lowest`
 * project runs this file against the lowest axios of the peer range.
 */
import axios, { AxiosError, CanceledError, type AxiosInstance } from 'axios';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { attachTokenCache, TokenCache } from 'nestjs-token-cache/core';
import type { HeldIdp } from './support/held-idp.js';
import { countingSignal } from './support/counting-signal.js';
import { outcome, useHeldWorld } from './support/held-world.js';
import type { ResourceServer } from './support/resource-server.js';

const world = useHeldWorld();
let held: HeldIdp;
let api: ResourceServer;
let cache: TokenCache;
let client: AxiosInstance;
let eject: () => void;

beforeAll(() => ({ held, api } = world));
beforeEach(() => {
  cache = world.newCache();
  client = axios.create({ baseURL: api.url });
  eject = attachTokenCache(client, cache, { source: 'api' });
});
afterEach(async () => {
  held.release();
  eject();
  await cache.close();
});

/** The error a plain axios call gives for the same cancellation (no token cache on the instance). */
async function plainAxiosError(config: Parameters<AxiosInstance['get']>[1]): Promise<unknown> {
  return axios.create({ baseURL: api.url }).get('/plain', config).catch((e: unknown) => e);
}

describe(`axios ${axios.VERSION}: a call waiting for a token can be canceled`, () => {
  it('rejects with CanceledError at once when its signal aborts during the token fetch; the fetch goes on for the others and is cached', async () => {
    const ac = new AbortController();
    const aborted = outcome(client.get('/aborted', { signal: ac.signal }));
    const other = client.get('/other');
    await held.arrivals(1);
    ac.abort();
    const result = (await aborted) as { rejected: AxiosError };
    // Still held: the rejection did not wait for the IdP.
    expect(held.arrived).toBe(1);
    expect(result.rejected).toBeInstanceOf(CanceledError);
    expect(axios.isCancel(result.rejected)).toBe(true);
    expect(result.rejected.code).toBe('ERR_CANCELED');
    expect(result.rejected.message).toBe((await plainAxiosError({ signal: AbortSignal.abort() }) as Error).message);
    expect(api.requests).toHaveLength(0);
    held.release();
    expect((await other).status).toBe(200);
    expect(cache.peek('api')?.accessToken).toBe(api.requests[0]!.token);
    expect(held.arrived).toBe(1);
    expect(api.requests.map((r) => r.url)).toEqual(['/other']);
  });

  it('rejects with the cancel token\'s own reason (legacy CancelToken)', async () => {
    const source = axios.CancelToken.source();
    const canceled = outcome(client.get('/legacy', { cancelToken: source.token }));
    await held.arrivals(1);
    source.cancel('caller left');
    const result = (await canceled) as { rejected: CanceledError<unknown> };
    expect(held.arrived).toBe(1);
    expect(axios.isCancel(result.rejected)).toBe(true);
    expect(result.rejected.message).toBe('caller left');
    held.release();
    await expect(cache.getToken('api')).resolves.toBeTruthy();
    expect(held.arrived).toBe(1);
    expect(api.requests).toHaveLength(0);
  });

  it('an already aborted signal or canceled token rejects before any token work', async () => {
    const signal = AbortSignal.abort();
    const a = await client.get('/pre-aborted', { signal }).catch((e: unknown) => e);
    const source = axios.CancelToken.source();
    source.cancel('before');
    const b = (await client.get('/pre-canceled', { cancelToken: source.token }).catch((e: unknown) => e)) as Error;
    expect(a).toBeInstanceOf(CanceledError);
    expect(axios.isCancel(b)).toBe(true);
    expect(b.message).toBe('before');
    expect(held.arrived).toBe(0);
    expect(cache.stats().fetches).toBe(0);
    expect(api.requests).toHaveLength(0);
  });

  it('rejects at once when the signal aborts while the retry waits for the renewed token; the retry is not sent', async () => {
    held.release();
    await client.get('/warm');
    api.revokeAllSeen();
    held.hold();
    const ac = new AbortController();
    const call = outcome(client.post('/renewing', { a: 1 }, { signal: ac.signal }));
    await held.arrivals(2);
    ac.abort();
    const result = (await call) as { rejected: AxiosError };
    expect(result.rejected).toBeInstanceOf(CanceledError);
    expect(result.rejected.code).toBe('ERR_CANCELED');
    expect(api.requests.filter((r) => r.url === '/renewing').map((r) => r.accepted)).toEqual([false]);
    held.release();
    const renewed = await cache.getToken('api');
    expect(renewed).not.toBe(api.requests[0]!.token);
    expect(held.arrived).toBe(2);
    expect(api.requests.filter((r) => r.url === '/renewing')).toHaveLength(1);
  });

  it('timeout covers the wait for a token: the timeout error axios gives (ECONNABORTED, or ETIMEDOUT when clarified), nothing sent', async () => {
    const a = (await client.get('/slow-token', { timeout: 50 }).catch((e: unknown) => e)) as AxiosError;
    const b = (await client.get('/slow-token', { timeout: 50, transitional: { clarifyTimeoutError: true } }).catch((e: unknown) => e)) as AxiosError;
    const c = (await client.get('/slow-token', { timeout: 50, timeoutErrorMessage: 'orders API too slow' }).catch((e: unknown) => e)) as AxiosError;
    expect(held.arrived).toBe(1);
    expect(axios.isAxiosError(a)).toBe(true);
    expect(a).toBeInstanceOf(AxiosError);
    expect([a.code, a.message]).toEqual(['ECONNABORTED', 'timeout of 50ms exceeded']);
    expect([b.code, b.message]).toEqual(['ETIMEDOUT', 'timeout of 50ms exceeded']);
    expect([c.code, c.message]).toEqual(['ECONNABORTED', 'orders API too slow']);
    expect(a.config?.timeout).toBe(50);
    expect(api.requests).toHaveLength(0);
    held.release();
    await expect(cache.getToken('api')).resolves.toBeTruthy();
    expect(held.arrived).toBe(1);
  });

  it('a call whose token arrives within its timeout is sent and succeeds; a config re-sent keeps its own timeout', async () => {
    const call = client.get('/in-time', { timeout: 10_000 });
    await held.arrivals(1);
    held.release();
    const res = await call;
    expect(res.status).toBe(200);
    // The attempt ran with what was left of the budget; the message still names the caller's timeout.
    expect(res.config.timeout).toBeLessThanOrEqual(10_000);
    expect(res.config.timeoutErrorMessage).toBe('timeout of 10000ms exceeded');
    const again = await client.request(res.config);
    expect(again.status).toBe(200);
    expect(api.requests.map((r) => r.url)).toEqual(['/in-time', '/in-time']);
  });

  it('leaves no listener on a long-lived signal after many calls (cold and warm)', async () => {
    held.release();
    const { signal, listeners } = countingSignal();
    for (let i = 0; i < 20; i++) await client.get('/cold', { signal, tokenCache: { subject: `user-${i}` } });
    for (let i = 0; i < 100; i++) await client.get('/warm', { signal });
    expect(api.requests).toHaveLength(120);
    expect(listeners()).toBe(0);
  });
});
