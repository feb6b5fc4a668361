// The loopback world of bench/peers.bench.mjs, in its own process so the clients under test don't share its
// event loop: an IdP (client credentials, 50 ms latency, configurable lifetime, can answer 500 for a window,
// can revoke every token) and an API (5 ms, checks the token, counts 401s, requests without a token and
// POST bodies lost). Prints its URLs as one JSON line; controlled over HTTP at <idp>/control/*.
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';

const IDP_LATENCY_MS = 50;
const API_LATENCY_MS = 5;
let lifetimeMs = 3_000;
let failUntil = 0;
const tokens = new Map(); // token -> exp (ms)
let stats;
const reset = () => (stats = { tokenCalls: 0, api401: 0, noToken: 0, bodiesLost: 0, apiCalls: 0 });
reset();

const read = (req) => new Promise((resolve) => { const chunks = []; req.on('data', (c) => chunks.push(c)); req.on('end', () => resolve(Buffer.concat(chunks).toString())); });
const send = (res, status, body) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
const later = (ms) => new Promise((r) => setTimeout(r, ms));

const idp = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname.startsWith('/control/')) {
    await read(req);
    if (url.pathname === '/control/reset') { lifetimeMs = Number(url.searchParams.get('lifetime')); failUntil = 0; tokens.clear(); reset(); }
    if (url.pathname === '/control/fail') failUntil = Date.now() + Number(url.searchParams.get('ms'));
    if (url.pathname === '/control/revoke') tokens.clear();
    return send(res, 200, stats);
  }
  await read(req);
  stats.tokenCalls++;
  const failing = Date.now() < failUntil;
  await later(IDP_LATENCY_MS);
  if (failing) return send(res, 500, { error: 'server_error' });
  const token = `tok${randomBytes(12).toString('hex')}`;
  tokens.set(token, Date.now() + lifetimeMs);
  send(res, 200, { access_token: token, token_type: 'Bearer', expires_in: lifetimeMs / 1000 });
});

const api = createServer(async (req, res) => {
  const body = await read(req);
  stats.apiCalls++;
  await later(API_LATENCY_MS);
  const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
  const token = m?.[1];
  if (!token || token === 'null' || token === 'undefined') { stats.noToken++; stats.api401++; return send(res, 401, { error: 'invalid_token' }); }
  const exp = tokens.get(token);
  if (exp === undefined || Date.now() >= exp) { stats.api401++; return send(res, 401, { error: 'invalid_token' }); }
  if (req.method === 'POST') {
    let n;
    try { n = JSON.parse(body).n; } catch { n = undefined; }
    if (typeof n !== 'number') { stats.bodiesLost++; return send(res, 400, { error: 'body lost' }); }
  }
  send(res, 200, { ok: true });
});

await new Promise((r) => idp.listen(0, '127.0.0.1', r));
await new Promise((r) => api.listen(0, '127.0.0.1', r));
console.log(JSON.stringify({ idp: `http://127.0.0.1:${idp.address().port}`, api: `http://127.0.0.1:${api.address().port}` }));
process.on('disconnect', () => process.exit(0));
