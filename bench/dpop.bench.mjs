// Requests per second through an attached axios instance whose source is DPoP-bound (RFC 9449: a fresh
// signed proof per request) against the same kind of attached instance with a bearer source: same local
// HTTP server, same run, interleaved rounds, ratio = median of pair ratios (see interceptor.bench.mjs).
// What it shows: the cost of one ES256 signature (+ the token's SHA-256) per request. Information, no target:
// the cost is inherent to DPoP, and the README states it.
import { Agent } from 'node:http';
import { spawn } from 'node:child_process';
import axios from 'axios';
import { attachTokenCache, clientCredentials, TokenCache } from 'nestjs-token-cache/core';

const CONCURRENCY = 16;
const REQUESTS_PER_ROUND = 1_000;
const MAX_ROUNDS = 21;
const MIN_ROUNDS = 7;
const MAX_MEASURE_MS = 40_000;
const BEARER = 'bench-bearer-token-0123456789';
const BOUND = 'bench-dpop-token-0123456789';

// Token endpoint and API in a child process. The API answers 200 only to the expected credentials: the
// bearer token, or the DPoP token with a proof that is a fresh compact JWS naming the request's URL. It does
// not verify signatures (that would put the server's own cost into the DPoP side); the e2e tests do.
const server = spawn(
  process.execPath,
  [
    '-e',
    `
  const { createServer } = require('node:http');
  const body = JSON.stringify({ ok: true });
  const seen = new Set();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST' && req.url.startsWith('/token')) {
        const dpop = req.url === '/token-dpop' && typeof req.headers.dpop === 'string';
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ access_token: dpop ? '${BOUND}' : '${BEARER}', token_type: dpop ? 'DPoP' : 'Bearer', expires_in: 86400 }));
        return;
      }
      const auth = req.headers.authorization;
      let ok = auth === 'Bearer ${BEARER}';
      if (auth === 'DPoP ${BOUND}') {
        const parts = String(req.headers.dpop).split('.');
        const payload = parts.length === 3 ? JSON.parse(Buffer.from(parts[1], 'base64url').toString()) : {};
        ok = payload.htu === 'http://127.0.0.1:' + server.address().port + '/resource' && payload.htm === 'GET' && !seen.has(payload.jti);
        seen.add(payload.jti);
      }
      if (ok) { res.writeHead(200, { 'content-type': 'application/json' }); res.end(body); }
      else { res.writeHead(401, { 'www-authenticate': 'DPoP error="invalid_token"' }); res.end(); }
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

const common = { clientId: 'bench', clientSecret: 'bench-secret' };
const cache = new TokenCache({
  sources: {
    bearer: clientCredentials({ ...common, tokenUrl: `${baseURL}/token-bearer` }),
    bound: clientCredentials({ ...common, tokenUrl: `${baseURL}/token-dpop`, dpop: true }),
  },
});
const instance = () => axios.create({ baseURL, httpAgent: new Agent({ keepAlive: true, maxSockets: CONCURRENCY }) });
const withDpop = instance();
const withBearer = instance();
const ejects = [attachTokenCache(withDpop, cache, { source: 'bound' }), attachTokenCache(withBearer, cache, { source: 'bearer' })];

/** `n` GETs with CONCURRENCY in flight; returns requests per second and client CPU per request. Any non-200 aborts. */
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
for (let i = 0; i < 2; i++) {
  await round(withDpop, REQUESTS_PER_ROUND / 2);
  await round(withBearer, REQUESTS_PER_ROUND / 2);
}
const d = [];
const b = [];
const ratios = [];
const cpu = { d: [], b: [] };
const measureStart = Date.now();
for (let r = 0; r < MAX_ROUNDS && (r < MIN_ROUNDS || Date.now() - measureStart < MAX_MEASURE_MS); r++) {
  let dr;
  let br;
  if (r % 2 === 0) {
    dr = await round(withDpop, REQUESTS_PER_ROUND);
    br = await round(withBearer, REQUESTS_PER_ROUND);
  } else {
    br = await round(withBearer, REQUESTS_PER_ROUND);
    dr = await round(withDpop, REQUESTS_PER_ROUND);
  }
  d.push(dr.rps);
  b.push(br.rps);
  ratios.push(dr.rps / br.rps);
  cpu.d.push(dr.cpuUsPerRequest);
  cpu.b.push(br.cpuUsPerRequest);
}
const fmt = (n) => Math.round(n).toLocaleString('en-US');
console.log(`Axios GETs, ${CONCURRENCY} in flight, ${ratios.length} interleaved round pairs of ${REQUESTS_PER_ROUND}, ratio = median of pair ratios:`);
console.log(
  `${'DPoP-bound source vs bearer source (attached)'.padEnd(50)} ${fmt(median(d)).padStart(8)} req/s vs ${fmt(median(b)).padStart(8)} req/s  ratio ${median(ratios).toFixed(3)}  (information)`,
);
console.log(`client CPU per request: DPoP ${median(cpu.d).toFixed(0)} µs, bearer ${median(cpu.b).toFixed(0)} µs (a proof: ~${(median(cpu.d) - median(cpu.b)).toFixed(0)} µs)`);
const fetches = cache.stats().fetches;
console.log(`token fetches: ${fetches} (expected 2); took ${((Date.now() - started) / 1000).toFixed(1)} s`);

for (const eject of ejects) eject();
await cache.close();
server.stdin.end();
server.kill();
process.exit(fetches === 2 ? 0 : 1);
