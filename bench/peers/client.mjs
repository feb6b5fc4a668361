// One client of bench/peers.bench.mjs, run in a process of its own for one scenario: every client starts as
// cold (modules, JIT, sockets) as every other, and none inherits another's heap or connections. Gets
// { client, urls, spec } over IPC, runs the scenario, sends back the calls it measured, and exits.
import axios from 'axios';
import { createAuthRefresh } from 'axios-auth-refresh';
import tokenProvider from 'axios-token-interceptor';
import { clientCredentials as occ } from 'axios-oauth-client';
import { OAuth2Client, OAuth2Fetch } from '@badgateway/oauth2-client';
import { TokenCache, clientCredentials } from 'nestjs-token-cache/core';

const CALLERS = 32;
const CLIENT = { id: 'bench', secret: 'bench-secret' };

/** Each client, set up as its README shows: `call(i)` resolves true when the API answered 2xx; GET and POST (JSON body) alternate. */
export const clients = {
  'nestjs-token-cache (defaults)': (urls) => {
    const cache = new TokenCache({ sources: { api: clientCredentials({ tokenUrl: `${urls.idp}/token`, clientId: CLIENT.id, clientSecret: CLIENT.secret }) } });
    const http = axios.create({ baseURL: urls.api });
    cache.attach(http, { source: 'api' });
    return { call: (i) => viaAxios(http, i), close: () => cache.close() };
  },
  'axios-auth-refresh 5.0.2': (urls) => {
    let token = null;
    const http = axios.create({ baseURL: urls.api });
    http.interceptors.request.use((request) => {
      request.headers['Authorization'] = `Bearer ${token}`;
      return request;
    });
    createAuthRefresh(http, (failedRequest) =>
      axios.post(`${urls.idp}/token`, form()).then((r) => {
        token = r.data.access_token;
        failedRequest.response.config.headers['Authorization'] = 'Bearer ' + token;
        return Promise.resolve();
      }),
    );
    return { call: (i) => viaAxios(http, i), close: () => undefined };
  },
  'axios-token-interceptor 0.2.0 + axios-oauth-client 2.2.0': (urls) => {
    const getClientCredentials = occ(axios.create(), `${urls.idp}/token`, CLIENT.id, CLIENT.secret);
    const cache = tokenProvider.tokenCache(() => getClientCredentials(), { getMaxAge: (body) => body.expires_in * 1000 });
    const http = axios.create({ baseURL: urls.api });
    http.interceptors.request.use(tokenProvider({ getToken: cache, headerFormatter: (body) => 'Bearer ' + body.access_token }));
    return { call: (i) => viaAxios(http, i), close: () => undefined };
  },
  '@badgateway/oauth2-client 3.3.1 OAuth2Fetch': (urls) => {
    const client = new OAuth2Client({ server: urls.idp, clientId: CLIENT.id, clientSecret: CLIENT.secret, tokenEndpoint: '/token' });
    const wrapper = new OAuth2Fetch({ client, getNewToken: async () => client.clientCredentials() });
    return { call: (i) => viaFetch(urls, (url, init) => wrapper.fetch(url, init), i), close: () => undefined };
  },
  'naive fetch per request': (urls) => ({
    call: (i) =>
      viaFetch(
        urls,
        async (url, init) => {
          const t = await fetch(`${urls.idp}/token`, { method: 'POST', body: form() });
          if (!t.ok) throw new Error(`token ${t.status}`);
          const { access_token } = await t.json();
          return fetch(url, { ...init, headers: { ...init.headers, authorization: `Bearer ${access_token}` } });
        },
        i,
      ),
    close: () => undefined,
  }),
};

const form = () => new URLSearchParams({ grant_type: 'client_credentials', client_id: CLIENT.id, client_secret: CLIENT.secret });

async function viaAxios(http, i) {
  const r = i % 2 ? await http.post('/data', { n: i }) : await http.get('/data');
  return r.status >= 200 && r.status < 300;
}
async function viaFetch(urls, f, i) {
  const init = i % 2 ? { method: 'POST', body: JSON.stringify({ n: i }), headers: { 'content-type': 'application/json' } } : { method: 'GET', headers: {} };
  const r = await f(`${urls.api}/data`, init);
  await r.arrayBuffer();
  return r.ok;
}

/**
 * Runs `CALLERS` loops for `durationMs` (or `burst` calls at once), with the world's `events` ([ms, control
 * path]) at their times. Returns every call as [start ms, duration ms, ok 0/1] and the elapsed seconds.
 */
async function run(client, urls, { durationMs, burst, events = [] }) {
  const control = (path) => fetch(`${urls.idp}/control/${path}`, { method: 'POST' }).then((r) => r.arrayBuffer());
  const calls = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const one = async (i) => {
    const start = performance.now();
    let ok = false;
    try {
      ok = await client.call(i);
    } catch {
      ok = false;
    }
    calls.push([start - t0, performance.now() - start, ok ? 1 : 0]);
  };
  const timers = events.map(([at, path]) => setTimeout(() => void control(path), at));
  if (burst) await Promise.all(Array.from({ length: burst }, (_, i) => one(i)));
  else {
    let n = 0;
    await Promise.all(
      Array.from({ length: CALLERS }, async () => {
        while (performance.now() - t0 < durationMs) await one(n++);
      }),
    );
  }
  timers.forEach(clearTimeout);
  const cpu = process.cpuUsage(cpu0);
  return { calls, elapsedS: (performance.now() - t0) / 1000, cpuUs: cpu.user + cpu.system };
}

/**
 * What a run measured. Latency is over successful calls only: a call that failed fast is not a faster call.
 * Throughput is successful calls per second, for the same reason. Failures are counted in `failed` and
 * `secondsFailing` (tenths of a second with at least one failed call). `cpuPerCallUs`: the client process's CPU
 * time per call (user + system), information that a loaded machine disturbs less than latency.
 */
export function summarize({ calls, elapsedS, cpuUs }) {
  const ok = calls.filter((c) => c[2] === 1);
  const lat = ok.map((c) => c[1]).sort((a, b) => a - b);
  const q = (p) => (lat.length === 0 ? NaN : lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]);
  const failingTenths = new Set(calls.filter((c) => c[2] === 0).map((c) => Math.floor(c[0] / 100)));
  return {
    calls: calls.length,
    failed: calls.length - ok.length,
    secondsFailing: failingTenths.size / 10,
    p50: q(0.5),
    p99: q(0.99),
    throughput: ok.length / elapsedS,
    cpuPerCallUs: calls.length === 0 ? NaN : cpuUs / calls.length,
  };
}

/**
 * Warms the process up (JIT, sockets) with a throwaway instance of the same client under the same load for
 * `warmupMs`, then resets the world (its counters, its tokens: the throwaway's token is no longer accepted),
 * so the scenario's instance starts with an empty cache in a process that is no longer cold. The first
 * seconds of a fresh process cost 2-8x the CPU per call of later ones, and how much varies more from process
 * to process than clients differ; a 10-second scenario measured that, not the clients.
 */
async function warmUp(name, urls, { warmupMs, lifetimeMs }) {
  const throwaway = clients[name](urls);
  await run(throwaway, urls, { durationMs: warmupMs });
  await throwaway.close();
  await fetch(`${urls.idp}/control/reset?lifetime=${lifetimeMs}`, { method: 'POST' }).then((r) => r.arrayBuffer());
}

/**
 * The machine's speed on this core: ms for a fixed piece of JavaScript work (allocation and string
 * conversion, like a request's), the best of 3. Taken before and after a run, so the driver can tell a run
 * the machine slowed down under (another tenant of the host) from one a client was slow in.
 */
export function machineSpeedMs() {
  let best = Infinity;
  for (let k = 0; k < 3; k++) {
    const t = performance.now();
    let s = 0;
    for (let i = 0; i < 3e6; i++) s += String(i & 1023).length + { a: i }.a;
    best = Math.min(best, performance.now() - t);
    if (s < 0) throw new Error('unreachable');
  }
  return best;
}

process.once('message', async ({ client: name, urls, spec }) => {
  machineSpeedMs(); // its own JIT warm-up
  const before = machineSpeedMs();
  if (spec.warmupMs) await warmUp(name, urls, spec);
  const client = clients[name](urls);
  const result = await run(client, urls, spec);
  await client.close();
  const after = machineSpeedMs();
  process.send({ ...summarize(result), speedMs: Math.max(before, after) }, () => process.exit(0));
});
