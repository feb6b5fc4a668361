// Warm getToken with the RedisTokenStore against the default memory store (interleaved rounds, target
// ratio >= 0.9), and the Redis commands sent during 10,000 warm calls (target 0), counted twice: by the
// server (MONITOR, filtered to the store's own connections) and by ioredis' command tracing channel.
import { randomBytes } from 'node:crypto';
import { tracingChannel } from 'node:diagnostics_channel';
import { Redis } from 'ioredis';
import { TokenCache, tokenFunction } from 'nestjs-token-cache/core';
import { RedisTokenStore } from 'nestjs-token-cache/redis';
import { compare, median, opsPerSec, report } from './harness.mjs';

const url = process.env.TOKEN_CACHE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6390';

const probe = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
probe.on('error', () => undefined);
try {
  await probe.connect();
  await probe.ping();
} catch {
  console.log(`SKIP: no Redis reachable at ${url} (set TOKEN_CACHE_TEST_REDIS_URL or start one: redis-server --port 6390). Nothing measured.`);
  probe.disconnect();
  process.exit(0);
}

const connectionName = `token-cache-bench-${process.pid}`;
const client = new Redis(url, { connectionName });
const keyPrefix = `tc-bench:${randomBytes(4).toString('hex')}:`;
const source = () => tokenFunction(() => ({ accessToken: `bench-${randomBytes(8).toString('hex')}`, expiresIn: 86_400 }));
const store = new RedisTokenStore({ client, keyPrefix });
const redisCache = new TokenCache({ sources: { api: source() }, store });
const memoryCache = new TokenCache({ sources: { api: source() } });
await redisCache.getToken('api');
await memoryCache.getToken('api');

/**
 * Like harness.compare, but the ratio is the median of each round's own ratio: on a busy machine the load
 * drifts between rounds, and both sides of one round see about the same load.
 */
async function pairedCompare(subject, baseline, ops = 200_000, rounds = 41) {
  await compare({ subject, baseline, ops: ops / 2, rounds: 1, isAsync: true }); // warm-up
  const s = [];
  const b = [];
  const ratios = [];
  for (let r = 0; r < rounds; r++) {
    const [first, second] = r % 2 === 0 ? [subject, baseline] : [baseline, subject];
    const x = await opsPerSec(first, ops, true);
    const y = await opsPerSec(second, ops, true);
    const [so, bo] = r % 2 === 0 ? [x, y] : [y, x];
    s.push(so);
    b.push(bo);
    ratios.push(so / bo);
  }
  return { subject: median(s), baseline: median(b), ratio: median(ratios) };
}

let ok = true;
console.log(`Warm getToken, RedisTokenStore (${url}) vs MemoryTokenStore, medians of interleaved rounds:`);
const control = new TokenCache({ sources: { api: source() } });
await control.getToken('api');
// A/A control: the same comparison between two memory stores shows how much of any gap is machine noise.
const aa = await pairedCompare(() => control.getToken('api'), () => memoryCache.getToken('api'));
console.log(`${'(control) memory store vs memory store'.padEnd(44)} ratio ${aa.ratio.toFixed(3)}  (no target: an A/A ratio away from 1 is machine noise)`);
ok = report('getToken redis store vs memory store', await pairedCompare(() => redisCache.getToken('api'), () => memoryCache.getToken('api')), 0.9) && ok;

// Server side: every command of the store's two connections (commands + subscriber) as Redis sees them.
const clientList = await probe.client('LIST');
const ours = new Set(
  String(clientList)
    .split('\n')
    .filter((line) => line.includes(` name=${connectionName} `))
    .map((line) => /addr=(\S+)/.exec(line)?.[1]),
);
const monitor = await probe.monitor();
const seenByServer = [];
monitor.on('monitor', (_time, args, source) => {
  if (ours.has(source)) seenByServer.push(String(args[0]).toUpperCase());
});
// Client side: every command any ioredis client of this process sends.
let seenByClient = 0;
const hooks = { start: () => void seenByClient++, end() {}, asyncStart() {}, asyncEnd() {}, error() {} };
const channel = tracingChannel('ioredis:command');
channel.subscribe(hooks);
await new Promise((r) => setTimeout(r, 200));

for (let i = 0; i < 10_000; i++) await redisCache.getToken('api');
await new Promise((r) => setTimeout(r, 300));
const serverCount = seenByServer.length;
const clientCount = seenByClient;

// Prove both counters work: one read-through of a missing key must show up in each.
await store.get('bench-missing-key');
await new Promise((r) => setTimeout(r, 300));
const countersWork = seenByServer.length > serverCount && seenByClient > clientCount;
channel.unsubscribe(hooks);

const commandsOk = serverCount === 0 && clientCount === 0 && countersWork && ours.size === 2;
console.log(
  `Redis commands during 10,000 warm getToken calls: ${serverCount} seen by Redis (MONITOR on the store's ${ours.size} connections), ` +
    `${clientCount} sent by ioredis  target 0  ${commandsOk ? 'PASS' : 'FAIL'}${countersWork ? '' : ' (a control command was not counted: the counters are broken)'}`,
);
ok = commandsOk && ok;

monitor.disconnect();
await redisCache.close();
await memoryCache.close();
await control.close();
await client.del(`${keyPrefix}{api}:token`);
await client.del(`${keyPrefix}{bench-missing-key}:token`);
await client.quit();
probe.disconnect();
process.exitCode = ok ? 0 : 1;
