// Requests per second through an axios instance with the token interceptor attached, against plain axios
// with a static Authorization header: same local HTTP server, same run, interleaved rounds.
// The server runs in a child process, so the client's own cost shows and its CPU time can be read apart.
// The ratio is the median of per-round-pair ratios: a pair runs back to back, so load from other
// processes on a shared machine hits both sides of a pair alike. Capped at ~45 s of measuring.
import { Agent } from 'node:http';
import axios from 'axios';
import { attachTokenCache, TokenCache, tokenFunction } from 'nestjs-token-cache/core';
import { bearerServerSource, fmt, HTTP_ROUNDS, pairedHttpRounds, roundsHeading, startServer } from './harness.mjs';

const TARGET = 0.95;
const TOKEN = 'bench-token-0123456789';

// The server answers 200 only to the expected bearer token, so a broken interceptor can't look fast.
const server = await startServer(bearerServerSource(TOKEN));
const { baseURL } = server;

const cache = new TokenCache({ sources: { api: tokenFunction(() => ({ accessToken: TOKEN, expiresIn: 86_400 })) } });
const attached = axios.create({ baseURL, httpAgent: new Agent({ keepAlive: true, maxSockets: HTTP_ROUNDS.concurrency }) });
const eject = attachTokenCache(attached, cache, { source: 'api' });
const plain = axios.create({
  baseURL,
  httpAgent: new Agent({ keepAlive: true, maxSockets: HTTP_ROUNDS.concurrency }),
  headers: { Authorization: `Bearer ${TOKEN}` },
});
const get = (client) => async () => (await client.get('/resource')).status;

const started = Date.now();
// Warm-up rounds first (JIT, sockets, the cache's first fetch).
const run = await pairedHttpRounds({
  subject: get(attached),
  baseline: get(plain),
  maxMeasureMs: 45_000,
});
const ok = run.ratio >= TARGET;
console.log(roundsHeading('Axios GETs', run));
console.log(
  `${'attached instance vs plain axios + static header'.padEnd(50)} ${fmt(run.subjectRps).padStart(8)} req/s vs ${fmt(run.baselineRps).padStart(8)} req/s  ratio ${run.ratio.toFixed(3)}  target >= ${TARGET}  ${ok ? 'PASS' : 'FAIL'}`,
);
console.log(
  `client CPU per request, attached / plain (info, less sensitive to other load on the machine): ${run.cpuRatio.toFixed(3)}`,
);
console.log(`token fetches: ${cache.stats().fetches} (expected 1); took ${((Date.now() - started) / 1000).toFixed(1)} s`);

eject();
await cache.close();
server.stop();
process.exit(ok && cache.stats().fetches === 1 ? 0 : 1);
