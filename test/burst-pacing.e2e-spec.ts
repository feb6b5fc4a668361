/**
 * A burst of requests waiting on one token fetch (a cold start, or a revocation's renewal) is released a batch
 * per event-loop turn by both HTTP clients, against a real IdP and API on loopback: no turn prepares and sends
 * hundreds of requests in one synchronous run (which blocks the event loop and makes every reply, the
 * first caller's too, wait for the last request), and every caller still gets its reply with one fetch.
 */
import axios, { type AxiosAdapter } from 'axios';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TokenCache, tokenFetch } from 'nestjs-token-cache/core';
import { distinctTokensWithAudience, idpClientCredentials } from './support/idp-token-function.js';
import { startMockIdp, type MockIdp } from './support/mock-idp.js';
import { startResourceServer, type ResourceServer } from './support/resource-server.js';

const BURST = 200;
/** The library's per-turn batch (8); two batches can share one check phase with the counter's own tick. */
const MOST_PER_TURN = 16;

let idp: MockIdp;
let api: ResourceServer;
let cache: TokenCache;

beforeEach(async () => {
  idp = await startMockIdp();
  distinctTokensWithAudience(idp);
  api = await startResourceServer(idp);
  cache = new TokenCache({ sources: { api: idpClientCredentials(idp) } });
});

afterEach(async () => {
  await cache.close();
  await api.close();
  await idp.close();
});

/** The API holds every reply until `n` requests have arrived, then answers them all together. */
function holdRepliesUntil(n: number): void {
  let allArrived!: () => void;
  const arrived = new Promise<void>((resolve) => (allArrived = resolve));
  let seen = 0;
  api.beforeReply = async () => {
    if (++seen === n) allArrived();
    await arrived;
  };
}

/** Counts the requests handed to the network per event-loop turn (a setImmediate loop numbers the turns). */
function turnCounter() {
  let turn = 0;
  let running = true;
  const tick = () => {
    turn++;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  const perTurn = new Map<number, number>();
  return {
    sent: () => perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1),
    stop: () => (running = false),
    most: () => Math.max(...perTurn.values()),
    turns: () => perTurn.size,
    total: () => [...perTurn.values()].reduce((a, b) => a + b, 0),
  };
}

describe('a burst waiting on one token is released a batch per turn', () => {
  it('axios: 200 requests on a cold cache, one fetch, all answered, at most a batch sent per turn', async () => {
    const counter = turnCounter();
    const http = axios.getAdapter('http') as AxiosAdapter;
    const client = axios.create({ baseURL: api.url, adapter: (config) => (counter.sent(), http(config)) });
    cache.attach(client, { source: 'api' });
    const replies = await Promise.all(Array.from({ length: BURST }, (_, i) => client.get(`/burst/${i}`)));
    counter.stop();
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect(idp.tokenRequests).toBe(1);
    expect(counter.total()).toBe(BURST);
    expect(counter.most()).toBeLessThanOrEqual(MOST_PER_TURN);
    expect(counter.turns()).toBeGreaterThanOrEqual(BURST / MOST_PER_TURN);
  });

  it('axios: the retries after a revocation (one renewal shared by all) are paced too', async () => {
    const counter = turnCounter();
    const http = axios.getAdapter('http') as AxiosAdapter;
    let revoked: string | undefined;
    // Counts the retries only: the requests that carry a token other than the revoked one.
    const client = axios.create({
      baseURL: api.url,
      adapter: (config) => (revoked !== undefined && config.headers.get('authorization') !== `Bearer ${revoked}` && counter.sent(), http(config)),
    });
    cache.attach(client, { source: 'api' });
    await client.get('/warm');
    revoked = api.requests[0]!.token;
    api.revokeAllSeen();
    api.requests.length = 0;
    // The API holds its 401s back until all 64 have arrived, so they all wait on one renewal together.
    holdRepliesUntil(64);
    const replies = await Promise.all(Array.from({ length: 64 }, (_, i) => client.get(`/after-revoke/${i}`)));
    counter.stop();
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect(idp.tokenRequests).toBe(2);
    expect(api.requests.filter((r) => !r.accepted)).toHaveLength(64);
    expect(counter.total()).toBe(64);
    expect(counter.most()).toBeLessThanOrEqual(MOST_PER_TURN);
  });

  it('tokenFetch: 200 requests on a cold cache, one fetch, all answered, at most a batch sent per turn', async () => {
    const counter = turnCounter();
    const f = tokenFetch(cache, { source: 'api', baseURL: api.url, fetch: (input, init) => (counter.sent(), fetch(input, init)) });
    const replies = await Promise.all(Array.from({ length: BURST }, (_, i) => f(`/burst/${i}`).then(async (r) => (await r.arrayBuffer(), r.status))));
    counter.stop();
    expect(replies).toEqual(Array(BURST).fill(200));
    expect(idp.tokenRequests).toBe(1);
    expect(counter.most()).toBeLessThanOrEqual(MOST_PER_TURN);
    expect(counter.turns()).toBeGreaterThanOrEqual(BURST / MOST_PER_TURN);
  });
  it('a request aborted while it was held back is not sent (axios and tokenFetch)', async () => {
    const controllers = [new AbortController(), new AbortController()];
    const abortBoth = () => controllers.forEach((c) => c.abort());
    const http = axios.getAdapter('http') as AxiosAdapter;
    const client = axios.create({ baseURL: api.url, adapter: (config) => (abortBoth(), http(config)) });
    cache.attach(client, { source: 'api' });
    // The first request sent aborts the last of the burst, which is still held back at that moment.
    const viaAxios = Array.from({ length: 40 }, (_, i) =>
      client.get(`/axios/${i}`, i === 39 ? { signal: controllers[0]!.signal } : {}).then((r) => r.status, (e: Error) => e.name),
    );
    expect((await Promise.all(viaAxios)).slice(38)).toEqual([200, 'CanceledError']);
    await cache.invalidate('api');
    const f = tokenFetch(cache, { source: 'api', baseURL: api.url, fetch: (input, init) => (abortBoth(), fetch(input, init)) });
    const viaFetch = Array.from({ length: 40 }, (_, i) =>
      f(`/fetch/${i}`, i === 39 ? { signal: controllers[1]!.signal } : {}).then(async (r) => (await r.arrayBuffer(), r.status), (e: Error) => e.name),
    );
    expect((await Promise.all(viaFetch)).slice(38)).toEqual([200, 'AbortError']);
    expect(api.requests.map((r) => r.url)).not.toContain('/axios/39');
    expect(api.requests.map((r) => r.url)).not.toContain('/fetch/39');
    expect(api.requests).toHaveLength(78);
  });
  it('axios: callers of a shared renewal aborted (signal) or canceled (cancel token) while held: rejected at once, their retries never sent', async () => {
    const client = axios.create({ baseURL: api.url });
    cache.attach(client, { source: 'api' });
    await client.get('/warm');
    api.revokeAllSeen();
    api.requests.length = 0;
    // All 64 first attempts are answered 401 together, so all 64 wait on one renewal; the last 32 are held.
    holdRepliesUntil(64);
    const controller = new AbortController();
    const source = axios.CancelToken.source();
    const calls = Array.from({ length: 64 }, (_, i) =>
      client
        .post(`/r/${i}`, { i }, i < 32 ? {} : i % 2 ? { signal: controller.signal } : { cancelToken: source.token })
        .then((r) => r.status, (e: Error) => e.name),
    );
    // Abort as soon as the first retries go out: the held ones are still waiting for their batch.
    await new Promise<void>((resolve) => {
      const check = () => (api.requests.some((r) => r.accepted) ? resolve() : setImmediate(check));
      check();
    });
    controller.abort();
    source.cancel('user canceled');
    const outcomes = await Promise.all(calls);
    const canceled = outcomes.filter((o) => o === 'CanceledError').length;
    expect(outcomes.slice(0, 32)).toEqual(Array(32).fill(200));
    expect(canceled).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o === 200).length + canceled).toBe(64);
    // Every accepted request (a retry) belongs to a caller that got 200: none of a canceled caller was sent.
    expect(api.requests.filter((r) => r.accepted)).toHaveLength(64 - canceled);
  });
});
