// Requests per second through an axios instance with the token interceptor attached, against plain axios
// with a static Authorization header: same local HTTP server, same run, interleaved rounds.
// The server runs in a child process, so the client's own cost shows and its CPU time can be read apart.
// The ratio is the median of per-round-pair ratios: a pair runs back to back, so load from other
// processes on a shared machine hits both sides of a pair alike. Capped at ~45 s of measuring.
import { Agent } from 'node:http';
import { spawn } from 'node:child_process';
import axios from 'axios';
import { attachTokenCache, TokenCache, tokenFunction } from 'nestjs-token-cache/core';

const TARGET = 0.95;
const CONCURRENCY = 16;
const REQUESTS_PER_ROUND = 1_500;
const MAX_ROUNDS = 25;
const MIN_ROUNDS = 9;
const MAX_MEASURE_MS = 45_000;
const TOKEN = 'bench-token-0123456789';

// The server answers 200 only to the expected bearer token, so a broken interceptor can't look fast.
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
const attached = axios.create({ baseURL, httpAgent: new Agent({ keepAlive: true, maxSockets: CONCURRENCY }) });
const eject = attachTokenCache(attached, cache, { source: 'api' });
const plain = axios.create({
  baseURL,
  httpAgent: new Agent({ keepAlive: true, maxSockets: CONCURRENCY }),
  headers: { Authorization: `Bearer ${TOKEN}` },
});

/** `n` GETs with CONCURRENCY in flight; returns requests per second. Any non-200 aborts the run. */
async function round(client, n) {
  let next = 0;
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        next++;
        const res = await client.get('/resource');
        if (res.status !== 200) throw new Error(`unexpected status ${res.status}`);
      }
    }),
  );
  const rps = (n * 1e9) / Number(process.hrtime.bigint() - start);
  const used = process.cpuUsage(cpu);
  return { rps, cpuUsPerRequest: (used.user + used.system) / n };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const started = Date.now();
// Warm up both (JIT, sockets, the cache's first fetch).
for (let i = 0; i < 2; i++) {
  await round(attached, REQUESTS_PER_ROUND / 2);
  await round(plain, REQUESTS_PER_ROUND / 2);
}
const a = [];
const p = [];
const ratios = [];
const cpuRatios = [];
const measureStart = Date.now();
for (let r = 0; r < MAX_ROUNDS && (r < MIN_ROUNDS || Date.now() - measureStart < MAX_MEASURE_MS); r++) {
  // Alternate which side goes first, so drift in machine state hits both alike.
  let ar;
  let pr;
  if (r % 2 === 0) {
    ar = await round(attached, REQUESTS_PER_ROUND);
    pr = await round(plain, REQUESTS_PER_ROUND);
  } else {
    pr = await round(plain, REQUESTS_PER_ROUND);
    ar = await round(attached, REQUESTS_PER_ROUND);
  }
  a.push(ar.rps);
  p.push(pr.rps);
  ratios.push(ar.rps / pr.rps);
  cpuRatios.push(ar.cpuUsPerRequest / pr.cpuUsPerRequest);
}
const attachedRps = median(a);
const plainRps = median(p);
const ratio = median(ratios);
const ok = ratio >= TARGET;
const fmt = (n) => Math.round(n).toLocaleString('en-US');
console.log(
  `Axios GETs, ${CONCURRENCY} in flight, ${ratios.length} interleaved round pairs of ${REQUESTS_PER_ROUND}, ratio = median of pair ratios (higher ratio is better):`,
);
console.log(
  `${'attached instance vs plain axios + static header'.padEnd(50)} ${fmt(attachedRps).padStart(8)} req/s vs ${fmt(plainRps).padStart(8)} req/s  ratio ${ratio.toFixed(3)}  target >= ${TARGET}  ${ok ? 'PASS' : 'FAIL'}`,
);
console.log(
  `client CPU per request, attached / plain (info, less sensitive to other load on the machine): ${median(cpuRatios).toFixed(3)}`,
);
console.log(`token fetches: ${cache.stats().fetches} (expected 1); took ${((Date.now() - started) / 1000).toFixed(1)} s`);

eject();
await cache.close();
server.stdin.end();
server.kill();
process.exit(ok && cache.stats().fetches === 1 ? 0 : 1);
