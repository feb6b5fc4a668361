// One app instance of the fleet benchmark (fleet.bench.mjs): a TokenCache over a RedisTokenStore from the
// built package, `CALLERS` concurrent callers calling getToken in a loop. Reports over IPC.
import { TokenCache, tokenFunction } from 'nestjs-token-cache/core';
import { RedisTokenStore } from 'nestjs-token-cache/redis';

const { REDIS_URL, KEY_PREFIX, TOKEN_URL, CALLERS, LIFETIME_MS } = process.env;
const lifetimeMs = Number(LIFETIME_MS);

const sourceFor = (url) =>
  tokenFunction(async (_request, { signal }) => {
    const res = await fetch(url, { method: 'POST', signal });
    if (!res.ok) throw new Error(`token endpoint answered ${res.status}`);
    const body = await res.json();
    return { accessToken: body.access_token, expiresIn: body.expires_in };
  });
const source = sourceFor(TOKEN_URL);
// The same kind of source on a path the IdP does not count: warms the process before the run (below).
const warm = sourceFor(new URL('/warm', TOKEN_URL));
const store = new RedisTokenStore({ url: REDIS_URL, keyPrefix: KEY_PREFIX });
// Options scaled to the short lifetime of the run (the defaults are for tokens of minutes to hours): usable until
// 0.9 L, refresh-ahead from 2/3 L. Each instance's jittered point is at most half-way from there to 0.9 L, so a refresh
// has 0.58 s or more to land: on a machine at load 20, a quarter of a second (from 0.75 L) was sometimes not enough.
const cache = new TokenCache({ sources: { api: source, warm }, store, expirySkewMs: lifetimeMs / 10, refreshBeforeExpiryMs: Math.round(lifetimeMs / 3) });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function run(startAt, durationMs) {
  await sleep(startAt - Date.now());
  const end = startAt + durationMs;
  const firstLifetimeEnd = startAt + lifetimeMs;
  let calls = 0;
  let failures = 0;
  let worstWaitAfterFirst = 0;
  let missesAtFirstLifetime;
  const errors = [];
  const caller = async () => {
    while (Date.now() < end) {
      const started = Date.now();
      try {
        await cache.getToken('api');
        calls++;
      } catch (error) {
        failures++;
        if (errors.length < 3) errors.push(`${error?.name}: ${error?.message}`);
      }
      if (started >= firstLifetimeEnd) worstWaitAfterFirst = Math.max(worstWaitAfterFirst, Date.now() - started);
      await sleep(10 + Math.random() * 20);
    }
  };
  const snapshot = sleep(firstLifetimeEnd - Date.now()).then(() => (missesAtFirstLifetime = cache.stats().misses));
  await Promise.all([...Array.from({ length: Number(CALLERS) }, caller), snapshot]);
  const stats = cache.stats();
  return { calls, failures, errors, worstWaitAfterFirst, missesAfterFirst: stats.misses - missesAtFirstLifetime, fetches: stats.fetches, reachable: store.reachable };
}

process.on('message', async ({ cmd, startAt, durationMs }) => {
  if (cmd === 'run') process.send({ result: await run(startAt, durationMs) });
  if (cmd === 'close') {
    await cache.close();
    process.disconnect();
  }
});

const started = Date.now();
while (!store.reachable && Date.now() - started < 5_000) await sleep(10);
// Warm the process: a first fetch() loads undici and opens a connection, and the first fetch and refresh through
// the store load its Redis scripts and compile the lock path; on a busy machine that made the first refresh take
// 0.6-0.9 s instead of 60 ms. With 5 s lifetimes (a refresh window of 1.25 s) the first token then expired before
// its refresh landed; with real lifetimes (minutes) that second is nothing. The IdP does not count /warm.
for (let i = 0; i < 3; i++) {
  await cache.getToken('warm');
  await cache.refresh('warm');
}

process.send({ ready: store.reachable });
