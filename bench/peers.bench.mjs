// bench/peers: this library with default options against the Node libraries a user would pick instead, set
// up as their READMEs show, and a naive fetch-per-request client; 32 concurrent callers against a loopback
// IdP (50 ms) and API (5 ms) run by bench/peers/world.mjs. One table per scenario. `--quick` shortens the
// steady run (9 s instead of 30 s) and the outage run (8 s instead of 10 s); the scenarios keep their meaning.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import axios from 'axios';
import { createAuthRefresh } from 'axios-auth-refresh';
import tokenProvider from 'axios-token-interceptor';
import { clientCredentials as occ } from 'axios-oauth-client';
import { OAuth2Client, OAuth2Fetch } from '@badgateway/oauth2-client';
import { TokenCache, clientCredentials } from 'nestjs-token-cache/core';

const quick = process.argv.includes('--quick');
const CALLERS = 32;
const CLIENT = { id: 'bench', secret: 'bench-secret' };

const world = fork(fileURLToPath(new URL('./peers/world.mjs', import.meta.url)), [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
const urls = await new Promise((resolve) => world.stdout.once('data', (d) => resolve(JSON.parse(String(d)))));
const control = async (path) => (await fetch(`${urls.idp}/control/${path}`, { method: 'POST' })).json();
const TOKEN_URL = `${urls.idp}/token`;
const form = () => new URLSearchParams({ grant_type: 'client_credentials', client_id: CLIENT.id, client_secret: CLIENT.secret });

/** Each client: `call(i)` resolves true when the API answered 2xx; GET and POST (JSON body) alternate. */
const clients = {
  'nestjs-token-cache (defaults)': () => {
    const cache = new TokenCache({ sources: { api: clientCredentials({ tokenUrl: TOKEN_URL, clientId: CLIENT.id, clientSecret: CLIENT.secret }) } });
    const http = axios.create({ baseURL: urls.api });
    cache.attach(http, { source: 'api' });
    return { call: (i) => viaAxios(http, i), close: () => cache.close() };
  },
  'axios-auth-refresh 5.0.2': () => {
    let token = null;
    const http = axios.create({ baseURL: urls.api });
    http.interceptors.request.use((request) => {
      request.headers['Authorization'] = `Bearer ${token}`;
      return request;
    });
    createAuthRefresh(http, (failedRequest) =>
      axios.post(TOKEN_URL, form()).then((r) => {
        token = r.data.access_token;
        failedRequest.response.config.headers['Authorization'] = 'Bearer ' + token;
        return Promise.resolve();
      }),
    );
    return { call: (i) => viaAxios(http, i), close: () => undefined };
  },
  'axios-token-interceptor 0.2.0 + axios-oauth-client 2.2.0': () => {
    const getClientCredentials = occ(axios.create(), TOKEN_URL, CLIENT.id, CLIENT.secret);
    const cache = tokenProvider.tokenCache(() => getClientCredentials(), { getMaxAge: (body) => body.expires_in * 1000 });
    const http = axios.create({ baseURL: urls.api });
    http.interceptors.request.use(tokenProvider({ getToken: cache, headerFormatter: (body) => 'Bearer ' + body.access_token }));
    return { call: (i) => viaAxios(http, i), close: () => undefined };
  },
  '@badgateway/oauth2-client 3.3.1 OAuth2Fetch': () => {
    const client = new OAuth2Client({ server: urls.idp, clientId: CLIENT.id, clientSecret: CLIENT.secret, tokenEndpoint: '/token' });
    const wrapper = new OAuth2Fetch({ client, getNewToken: async () => client.clientCredentials() });
    return { call: (i) => viaFetch((url, init) => wrapper.fetch(url, init), i), close: () => undefined };
  },
  'naive fetch per request': () => ({
    call: (i) =>
      viaFetch(async (url, init) => {
        const t = await fetch(TOKEN_URL, { method: 'POST', body: form() });
        if (!t.ok) throw new Error(`token ${t.status}`);
        const { access_token } = await t.json();
        return fetch(url, { ...init, headers: { ...init.headers, authorization: `Bearer ${access_token}` } });
      }, i),
    close: () => undefined,
  }),
};

async function viaAxios(http, i) {
  const r = i % 2 ? await http.post('/data', { n: i }) : await http.get('/data');
  return r.status >= 200 && r.status < 300;
}
async function viaFetch(f, i) {
  const init = i % 2 ? { method: 'POST', body: JSON.stringify({ n: i }), headers: { 'content-type': 'application/json' } } : { method: 'GET', headers: {} };
  const r = await f(`${urls.api}/data`, init);
  await r.arrayBuffer();
  return r.ok;
}

/** Runs `callers` loops for `durationMs` (or `calls` calls at once), with `events` at given ms. */
async function run(client, { durationMs, burst, events = [] }) {
  const results = [];
  const t0 = performance.now();
  const one = async (i) => {
    const start = performance.now();
    let ok = false;
    try {
      ok = await client.call(i);
    } catch {
      ok = false;
    }
    results.push({ at: start - t0, ms: performance.now() - start, ok });
  };
  const timers = events.map(([at, fn]) => setTimeout(fn, at));
  if (burst) await Promise.all(Array.from({ length: burst }, (_, i) => one(i)));
  else {
    let n = 0;
    await Promise.all(Array.from({ length: CALLERS }, async () => { while (performance.now() - t0 < durationMs) await one(n++); }));
  }
  timers.forEach(clearTimeout);
  const elapsed = (performance.now() - t0) / 1000;
  const lat = results.map((r) => r.ms).sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0;
  const failing = new Set(results.filter((r) => !r.ok).map((r) => Math.floor(r.at / 100)));
  return { calls: results.length, failed: results.filter((r) => !r.ok).length, secondsFailing: failing.size / 10, p50: q(0.5), p99: q(0.99), throughput: results.length / elapsed };
}

const scenarios = (lifetimeMs) => [
  [`steady load, ${lifetimeMs / 1000} s tokens, ${quick ? 9 : 30} s`, lifetimeMs, { durationMs: quick ? 9_000 : 30_000 }],
  [`revoke-all 3 times in 12 s, ${lifetimeMs / 1000} s tokens`, lifetimeMs, { durationMs: 12_000, events: [3_000, 6_000, 9_000].map((at) => [at, () => control('revoke')]) }],
  [`200 calls at once, cold, ${lifetimeMs / 1000} s tokens`, lifetimeMs, { burst: 200 }],
  [`IdP answers 500 for 3 s (from 0.5 s), ${lifetimeMs === 3_000 ? 4 : lifetimeMs / 1000} s tokens`, lifetimeMs === 3_000 ? 4_000 : lifetimeMs, { durationMs: quick ? 8_000 : 10_000, events: [[500, () => control('fail?ms=3000')]] }],
];

const fmt = (v, d = 0) => (typeof v === 'number' ? v.toFixed(d) : String(v));
const cols = ['calls', 'failed', 's failing', 'token calls', 'API 401s', 'no token', 'bodies lost', 'p50 ms', 'p99 ms', 'calls/s'];
let misses = 0;
for (const [title, lifetimeMs, spec] of [...scenarios(3_000), ...scenarios(60_000)]) {
  const rows = [];
  for (const [name, make] of Object.entries(clients)) {
    await control(`reset?lifetime=${lifetimeMs}`);
    const client = make();
    const r = await run(client, spec);
    const s = await control('fail?ms=0');
    await client.close();
    rows.push([name, r.calls, r.failed, r.secondsFailing, s.tokenCalls, s.api401, s.noToken, s.bodiesLost, r.p50, r.p99, r.throughput]);
  }
  console.log(`\n${title}`);
  console.log(`| client | ${cols.join(' | ')} |\n| --- |${cols.map(() => ' ---: |').join('')}`);
  for (const row of rows) console.log(`| ${row[0]} | ${row.slice(1).map((v, i) => fmt(v, i === 2 ? 1 : i >= 7 ? 1 : 0)).join(' | ')} |`);
  // Target: best or tied on every column, token calls at most 1.25x the fewest of any peer.
  const [ours, ...peers] = rows;
  const lowerBetter = [2, 3, 5, 6, 7, 8, 9];
  const verdicts = [];
  for (const c of lowerBetter) if (peers.some((p) => p[c] < ours[c] * 0.95 - (c >= 8 ? 2 : 0))) verdicts.push(cols[c - 1]);
  if (ours[4] > 1.25 * Math.min(...peers.map((p) => p[4]).filter((v) => v > 0))) verdicts.push('token calls > 1.25x the fewest');
  if (peers.some((p) => p[10] > ours[10] * 1.05)) verdicts.push('throughput');
  console.log(verdicts.length ? `FAIL (behind on: ${verdicts.join(', ')})` : 'PASS (best or tied on every column; token calls <= 1.25x the fewest)');
  if (verdicts.length) misses++;
}
world.disconnect();
world.kill();
process.exit(misses ? 1 : 0);
