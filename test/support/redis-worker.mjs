// One app instance for the multi-process Redis tests: a TokenCache over a RedisTokenStore, both from the
// BUILT library (npm test runs `npm run build:lib` first). Its token source POSTs to the parent's IdP, so
// the parent counts every fetch of every process. Driven over the IPC channel of child_process.fork().
import { TokenCache, tokenFunction } from '../../libs/token-cache/dist/core/index.js';
import { RedisTokenStore } from '../../libs/token-cache/dist/redis/index.js';

const { REDIS_URL, KEY_PREFIX, TOKEN_URL, LOCK_TTL_MS } = process.env;

const source = tokenFunction(async (request, { signal }) => {
  const res = await fetch(TOKEN_URL, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from('worker:worker-secret').toString('base64')}`,
      // Tells the parent's IdP which process fetched (the fault tests kill the one holding the lock).
      'x-worker': String(process.pid),
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...(request.subject && { subject: request.subject }) }),
    signal,
  });
  if (!res.ok) throw new Error(`token endpoint answered ${res.status}`);
  const body = await res.json();
  return { accessToken: body.access_token, expiresIn: body.expires_in };
});

const store = new RedisTokenStore({ url: REDIS_URL, keyPrefix: KEY_PREFIX, ...(LOCK_TTL_MS && { lockTtlMs: Number(LOCK_TTL_MS) }) });
const cache = new TokenCache({ sources: { api: source }, store });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(check, timeoutMs) {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) return false;
    await sleep(10);
  }
  return true;
}

/** `callers` concurrent getToken calls: the distinct tokens they got, how many failed, the longest wait (ms). */
async function burst(callers, params) {
  const started = Date.now();
  let maxWaitMs = 0;
  const timed = () => cache.getToken('api', params).finally(() => (maxWaitMs = Math.max(maxWaitMs, Date.now() - started)));
  const results = await Promise.allSettled(Array.from({ length: callers }, timed));
  const tokens = new Set();
  const errors = [];
  for (const r of results) {
    if (r.status === 'fulfilled') tokens.add(r.value);
    else errors.push(`${r.reason?.name}: ${r.reason?.message}`);
  }
  return { calls: callers, tokens: [...tokens], failures: errors.length, errors: errors.slice(0, 3), maxWaitMs };
}

/** Calls for `durationMs`: the warm key every few ms, and a new cold key (10 callers) every 100 ms. */
async function run(durationMs, tag) {
  const end = Date.now() + durationMs;
  let calls = 0;
  let failures = 0;
  let worstWaitMs = 0;
  const errors = [];
  const count = (r) => {
    worstWaitMs = Math.max(worstWaitMs, r.maxWaitMs);
    // Every call, not the distinct tokens of a burst: on a loaded machine a 3 s run is only a few dozen bursts.
    calls += r.calls;
    failures += r.failures;
    errors.push(...r.errors);
  };
  let cold = 0;
  let nextCold = Date.now();
  const pending = [];
  while (Date.now() < end) {
    count(await burst(5));
    if (Date.now() >= nextCold) {
      nextCold += 100;
      pending.push(burst(10, { subject: `${tag}-${cold++}` }).then(count));
    }
    await sleep(5);
  }
  await Promise.all(pending);
  return { calls, failures, errors: errors.slice(0, 5), reachable: store.reachable, worstWaitMs };
}

const commands = {
  burst: ({ callers, params }) => burst(callers, params),
  invalidate: ({ token }) => cache.invalidate('api', undefined, token),
  peek: ({ key }) => store.peek(key)?.accessToken ?? null,
  reachable: () => store.reachable,
  waitReachable: ({ timeoutMs }) => until(() => store.reachable, timeoutMs),
  run: ({ durationMs, tag }) => run(durationMs, tag),
  close: async () => {
    await cache.close();
    setImmediate(() => process.disconnect());
    return true;
  },
};

process.on('message', async ({ id, cmd, ...args }) => {
  try {
    const result = await commands[cmd](args);
    process.send({ id, ok: true, result });
  } catch (error) {
    process.send({ id, ok: false, error: `${error?.name}: ${error?.message}` });
  }
});

await until(() => store.reachable, 5_000);
process.send({ ready: true, reachable: store.reachable });
