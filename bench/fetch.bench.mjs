// tokenFetch against plain fetch with a static Authorization header (same local HTTP server in a child process,
// same run, interleaved rounds, ratio = median of per-round-pair ratios), then the 401 retry path's own cost
// for both clients, measured in-process against a fake transport so only the library's work shows.
import axios from 'axios';
import { attachTokenCache, TokenCache, tokenFetch, tokenFunction } from 'nestjs-token-cache/core';
import { bearerServerSource, compare, fmt, info, pairedHttpRounds, roundsHeading, startServer } from './harness.mjs';

const TARGET = 0.95;
const TOKEN = 'bench-token-0123456789';

const server = await startServer(bearerServerSource(TOKEN));
const { baseURL } = server;

const cache = new TokenCache({ sources: { api: tokenFunction(() => ({ accessToken: TOKEN, expiresIn: 86_400 })) } });
const withToken = tokenFetch(cache, { source: 'api', baseURL });
const plain = (path) => fetch(`${baseURL}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
/** One GET, its body read; resolves with the status. */
const get = (client) => async () => {
  const res = await client('/resource');
  await res.arrayBuffer();
  return res.status;
};

const run = await pairedHttpRounds({
  subject: get(withToken),
  baseline: get(plain),
});
const ok = run.ratio >= TARGET && cache.stats().fetches === 1;
console.log(roundsHeading('fetch GETs', run));
console.log(
  `${'tokenFetch vs fetch + static header'.padEnd(50)} ${fmt(run.subjectRps).padStart(8)} req/s vs ${fmt(run.baselineRps).padStart(8)} req/s  ratio ${run.ratio.toFixed(3)}  target >= ${TARGET}  ${ok ? 'PASS' : 'FAIL'}`,
);
console.log(`token fetches: ${cache.stats().fetches} (expected 1)`);
server.stop();

// The retry path: every call is rejected once and retried (invalidate, one token fetch from an in-memory
// source, the request rebuilt), against the floor of any retry: two calls of the same transport.
// The transport answers 401 and 200 in turn, with no network, so the ratio is the library's share.
console.log('\nThe 401 retry path, in-process fake transport (information: a retried call vs two plain calls):');
let n = 0;
const retryCache = new TokenCache({ sources: { api: tokenFunction(() => ({ accessToken: `t-${++n}`, expiresIn: 86_400 })) } });
let turn = 0;
const fakeFetch = async () => new Response(null, { status: turn++ % 2 === 0 ? 401 : 200 });
const retrying = tokenFetch(retryCache, { source: 'api', baseURL: 'http://127.0.0.1/', fetch: fakeFetch });
const twoPlain = async () => {
  await fakeFetch('http://127.0.0.1/x', { headers: { Authorization: `Bearer ${TOKEN}` } });
  return fakeFetch('http://127.0.0.1/x', { headers: { Authorization: `Bearer ${TOKEN}` } });
};
await retrying('/x');
info('tokenFetch retried call vs 2 plain fetch calls', await compare({ subject: () => retrying('/x'), baseline: twoPlain, ops: 5_000, isAsync: true }));
const before = retryCache.stats();

let aturn = 0;
const fakeAdapter = async (config) => ({ status: aturn++ % 2 === 0 ? 401 : 200, statusText: '', headers: {}, config, data: '', request: {} });
const attached = axios.create({ baseURL: 'http://127.0.0.1/', adapter: fakeAdapter, validateStatus: () => true });
attachTokenCache(attached, retryCache, { source: 'api' });
const plainAxios = axios.create({ baseURL: 'http://127.0.0.1/', adapter: fakeAdapter, validateStatus: () => true, headers: { Authorization: `Bearer ${TOKEN}` } });
const twoAxios = async () => {
  await plainAxios.get('/x');
  return plainAxios.get('/x');
};
await attached.get('/x');
info('axios retried call vs 2 plain axios calls', await compare({ subject: () => attached.get('/x'), baseline: twoAxios, ops: 5_000, isAsync: true }));
const after = retryCache.stats();
console.log(`  (each retried call: 1 invalidation + 1 token fetch; tokenFetch part: ${before.invalidations} invalidations, ${before.fetches} fetches; axios part: ${after.invalidations - before.invalidations} invalidations)`);

await cache.close();
await retryCache.close();
process.exit(ok ? 0 : 1);
