/**
 * A tokenFetch call that waits for a token ends when its signal aborts, as fetch itself would: at once, with
 * the signal's reason, nothing sent; the token fetch it waited on goes on for the other callers and lands in
 * the cache. Against a slow real IdP (token requests held until the test releases them) and the recording
 * resource server.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TokenCache, tokenFetch, type TokenFetch } from 'nestjs-token-cache/core';
import type { HeldIdp } from './support/held-idp.js';
import { countingSignal } from './support/counting-signal.js';
import { outcome, useHeldWorld } from './support/held-world.js';
import type { ResourceServer } from './support/resource-server.js';

const world = useHeldWorld();
let held: HeldIdp;
let api: ResourceServer;
let cache: TokenCache;
let call: TokenFetch;

beforeAll(() => ({ held, api } = world));
beforeEach(() => {
  cache = world.newCache();
  call = tokenFetch(cache, { source: 'api', baseURL: api.url });
});
afterEach(async () => {
  held.release();
  await cache.close();
});

describe('tokenFetch: a call waiting for a token can be aborted', () => {
  it('rejects with an AbortError at once when init.signal aborts during the token fetch; the fetch goes on for the others and is cached', async () => {
    const ac = new AbortController();
    const aborted = outcome(call('/aborted', { signal: ac.signal }));
    const other = call('/other');
    await held.arrivals(1);
    ac.abort();
    const result = (await aborted) as { rejected: DOMException };
    expect(held.arrived).toBe(1);
    // What fetch itself rejects with for the same signal.
    const plain = await fetch(`${api.url}/plain`, { signal: ac.signal }).catch((e: unknown) => e);
    expect(result.rejected).toBeInstanceOf(DOMException);
    expect(result.rejected.name).toBe('AbortError');
    expect(result.rejected).toBe(plain);
    expect(api.requests).toHaveLength(0);
    held.release();
    expect((await other).status).toBe(200);
    expect(cache.peek('api')?.accessToken).toBe(api.requests[0]!.token);
    expect(held.arrived).toBe(1);
    expect(api.requests.map((r) => r.url)).toEqual(['/other']);
  });

  it('rejects with the signal\'s own reason: a TimeoutError from AbortSignal.timeout, a caller\'s Error as it is', async () => {
    const timed = await call('/timed', { signal: AbortSignal.timeout(30) }).catch((e: unknown) => e);
    expect(timed).toMatchObject({ name: 'TimeoutError' });
    await held.arrivals(1);
    const ac = new AbortController();
    const mine = new Error('shutting down');
    const pending = outcome(call('/mine', { signal: ac.signal }));
    ac.abort(mine);
    expect(await pending).toEqual({ rejected: mine });
    expect(held.arrived).toBe(1);
    expect(api.requests).toHaveLength(0);
  });

  it('follows a Request\'s own signal, and init.signal over it', async () => {
    const ac = new AbortController();
    const request = new Request(`${api.url}/request`, { signal: ac.signal });
    const aborted = outcome(call(request));
    await held.arrivals(1);
    ac.abort();
    expect(((await aborted) as { rejected: Error }).rejected).toMatchObject({ name: 'AbortError' });
    const overridden = new AbortController();
    const viaInit = outcome(call(new Request(`${api.url}/request-2`), { signal: overridden.signal }));
    overridden.abort(new Error('init signal'));
    expect(((await viaInit) as { rejected: Error }).rejected.message).toBe('init signal');
    expect(api.requests).toHaveLength(0);
  });

  it('an already aborted signal rejects before any token work', async () => {
    const reason = new Error('already');
    await expect(call('/pre', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await expect(call(new Request(`${api.url}/pre-request`, { signal: AbortSignal.abort() }))).rejects.toMatchObject({ name: 'AbortError' });
    expect(held.arrived).toBe(0);
    expect(cache.stats().fetches).toBe(0);
  });

  it('rejects at once when the signal aborts while the retry waits for the renewed token; the retry is not sent', async () => {
    held.release();
    expect((await call('/warm')).status).toBe(200);
    api.revokeAllSeen();
    held.hold();
    const ac = new AbortController();
    const pending = outcome(call('/renewing', { method: 'POST', body: 'x', signal: ac.signal }));
    await held.arrivals(2);
    ac.abort();
    expect(((await pending) as { rejected: Error }).rejected).toMatchObject({ name: 'AbortError' });
    expect(api.requests.filter((r) => r.url === '/renewing').map((r) => r.accepted)).toEqual([false]);
    held.release();
    await expect(cache.getToken('api')).resolves.not.toBe(api.requests[0]!.token);
    expect(held.arrived).toBe(2);
    expect(api.requests.filter((r) => r.url === '/renewing')).toHaveLength(1);
  });

  it('leaves no listener on a long-lived signal after many calls (cold and warm)', async () => {
    held.release();
    const { signal, listeners } = countingSignal();
    // fetch keeps its own listener on a signal until the request is garbage-collected: this client's fetch
    // does not pass the signal on, so what is counted is the token cache's alone.
    call = tokenFetch(cache, { source: 'api', baseURL: api.url, fetch: (input, init) => fetch(input, { ...init, signal: null }) });
    for (let i = 0; i < 20; i++) await (await call('/cold', { signal, tokenCache: { subject: `user-${i}` } })).arrayBuffer();
    const afterCold = listeners();
    for (let i = 0; i < 100; i++) await (await call('/warm', { signal })).arrayBuffer();
    expect(api.requests).toHaveLength(120);
    expect(afterCold).toBe(0);
    expect(listeners()).toBe(0);
  });
});
