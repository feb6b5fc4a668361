// tokenFetch against plain fetch with a static Authorization header (same local HTTP server in a child process,
// same run, interleaved rounds, ratio = median of per-round-pair ratios), then the 401 retry path's own cost
// for both clients, measured in-process against a fake transport so only the library's work shows.
import { spawn } from 'node:child_process';
import axios from 'axios';
import { attachTokenCache, TokenCache, tokenFetch, tokenFunction } from 'nestjs-token-cache/core';
import { compare, info } from './harness.mjs';

const TARGET = 0.95;
const CONCURRENCY = 16;
const REQUESTS_PER_ROUND = 1_500;
const MAX_ROUNDS = 25;
const MIN_ROUNDS = 9;
const MAX_MEASURE_MS = 40_000;
const TOKEN = 'bench-token-0123456789';

const server = spawn(
  process.execPath,
  [
    '-e',
    `
  const { createServer } = require('node:http');
  const expected = 'Bearer ${TOKEN}';
  const body = JSON.stringify({ ok: true });
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.headers.authorization === expected) { res.writeHead(200, { 'content-type': 'application/json' }); res.end(body); }
      else { res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }); res.end(); }
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => console.log(server.address().port));
  process.stdin.on('end', () => process.exit(0)).resume();
  `,
  ],
  { stdio: ['pipe', 'pipe', 'inherit'] },
);
const port = await new Promise((resolve) => server.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
const baseURL = `http://127.0.0.1:${port}`;

const cache = new TokenCache({ sources: { api: tokenFunction(() => ({ accessToken: TOKEN, expiresIn: 86_400 })) } });
const withToken = tokenFetch(cache, { source: 'api', baseURL });
const plain = (path) => fetch(`${baseURL}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } });

/** `n` GETs with CONCURRENCY in flight, each body read; returns requests per second. Any non-200 aborts the run. */
async function round(client, n) {
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        next++;
        const res = await client('/resource');
        if (res.status !== 200) throw new Error(`unexpected status ${res.status}`);
        await res.arrayBuffer();
      }
    }),
  );
  return (n * 1e9) / Number(process.hrtime.bigint() - start);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (let i = 0; i < 2; i++) {
  await round(withToken, REQUESTS_PER_ROUND / 2);
  await round(plain, REQUESTS_PER_ROUND / 2);
}
const t = [];
const p = [];
const ratios = [];
const measureStart = Date.now();
for (let r = 0; r < MAX_ROUNDS && (r < MIN_ROUNDS || Date.now() - measureStart < MAX_MEASURE_MS); r++) {
  let tr;
  let pr;
  if (r % 2 === 0) {
    tr = await round(withToken, REQUESTS_PER_ROUND);
    pr = await round(plain, REQUESTS_PER_ROUND);
  } else {
    pr = await round(plain, REQUESTS_PER_ROUND);
    tr = await round(withToken, REQUESTS_PER_ROUND);
  }
  t.push(tr);
  p.push(pr);
  ratios.push(tr / pr);
}
const ratio = median(ratios);
const ok = ratio >= TARGET && cache.stats().fetches === 1;
const fmt = (n) => Math.round(n).toLocaleString('en-US');
console.log(`fetch GETs, ${CONCURRENCY} in flight, ${ratios.length} interleaved round pairs of ${REQUESTS_PER_ROUND}, ratio = median of pair ratios (higher ratio is better):`);
console.log(
  `${'tokenFetch vs fetch + static header'.padEnd(50)} ${fmt(median(t)).padStart(8)} req/s vs ${fmt(median(p)).padStart(8)} req/s  ratio ${ratio.toFixed(3)}  target >= ${TARGET}  ${ok ? 'PASS' : 'FAIL'}`,
);
console.log(`token fetches: ${cache.stats().fetches} (expected 1)`);
server.stdin.end();
server.kill();

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
