// Requests per second through an attached axios instance whose source is DPoP-bound (RFC 9449: a fresh
// signed proof per request) against the same kind of attached instance with a bearer source: same local
// HTTP server, same run, interleaved rounds, ratio = median of pair ratios (see interceptor.bench.mjs).
// What it shows: the cost of one ES256 signature (+ the token's SHA-256) per request. Information, no target:
// the cost is inherent to DPoP, and the README states it.
import { Agent } from 'node:http';
import axios from 'axios';
import { attachTokenCache, clientCredentials, TokenCache } from 'nestjs-token-cache/core';
import { fmt, HTTP_ROUNDS, pairedHttpRounds, roundsHeading, startServer } from './harness.mjs';

const BEARER = 'bench-bearer-token-0123456789';
const BOUND = 'bench-dpop-token-0123456789';

// Token endpoint and API in a child process. The API answers 200 only to the expected credentials: the
// bearer token, or the DPoP token with a proof that is a fresh compact JWS naming the request's URL. It does
// not verify signatures (that would put the server's own cost into the DPoP side); the e2e tests do.
const server = await startServer(`
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
  `);
const { baseURL } = server;

const common = { clientId: 'bench', clientSecret: 'bench-secret' };
const cache = new TokenCache({
  sources: {
    bearer: clientCredentials({ ...common, tokenUrl: `${baseURL}/token-bearer` }),
    bound: clientCredentials({ ...common, tokenUrl: `${baseURL}/token-dpop`, dpop: true }),
  },
});
const instance = () => axios.create({ baseURL, httpAgent: new Agent({ keepAlive: true, maxSockets: HTTP_ROUNDS.concurrency }) });
const withDpop = instance();
const withBearer = instance();
const ejects = [attachTokenCache(withDpop, cache, { source: 'bound' }), attachTokenCache(withBearer, cache, { source: 'bearer' })];

const get = (client) => async () => (await client.get('/resource')).status;

const started = Date.now();
const run = await pairedHttpRounds({
  subject: get(withDpop),
  baseline: get(withBearer),
  perRound: 1_000,
  minRounds: 7,
  maxRounds: 21,
});
console.log(roundsHeading('Axios GETs', run));
console.log(
  `${'DPoP-bound source vs bearer source (attached)'.padEnd(50)} ${fmt(run.subjectRps).padStart(8)} req/s vs ${fmt(run.baselineRps).padStart(8)} req/s  ratio ${run.ratio.toFixed(3)}  (information)`,
);
console.log(`client CPU per request: DPoP ${run.subjectCpuUs.toFixed(0)} µs, bearer ${run.baselineCpuUs.toFixed(0)} µs (a proof: ~${(run.subjectCpuUs - run.baselineCpuUs).toFixed(0)} µs)`);
const fetches = cache.stats().fetches;
console.log(`token fetches: ${fetches} (expected 2); took ${((Date.now() - started) / 1000).toFixed(1)} s`);

for (const eject of ejects) eject();
await cache.close();
server.stop();
process.exit(fetches === 2 ? 0 : 1);
