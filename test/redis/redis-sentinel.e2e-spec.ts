/**
 * RedisTokenStore through Redis Sentinel, set up as the README's "Redis Sentinel" snippet shows, against a
 * real master, replica and sentinel started by the test. `SENTINEL FAILOVER` runs mid-load under two
 * instances: callers keep getting tokens, no lock is left behind, extra fetches stay within the README's
 * bound, invalidations still reach both instances.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { TokenCache, tokenFunction } from 'nestjs-token-cache/core';
import { RedisTokenStore } from 'nestjs-token-cache/redis';
import { redisServerInstalled } from '../support/redis-test-server.js';
import { LocalRedisSentinel, SENTINEL_MASTER_NAME } from '../support/redis-sentinel.js';

const installed = redisServerInstalled();
if (!installed && process.env.TOKEN_CACHE_REQUIRE_REDIS === '1') throw new Error('redis-server is not installed, and TOKEN_CACHE_REQUIRE_REDIS=1 makes the Sentinel tests mandatory');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** The README's Sentinel snippet (docs/package/55-redis-fleet.md), as written. */
function readmeSentinelSnippet(): string {
  const doc = readFileSync(new URL('../../docs/package/55-redis-fleet.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('### Redis Sentinel'));
  return section.slice(section.indexOf('```ts'), section.indexOf('```', section.indexOf('```ts') + 5));
}

describe.skipIf(!installed)('RedisTokenStore through Redis Sentinel (master, replica, sentinel; SENTINEL FAILOVER mid-load)', () => {
  let set: LocalRedisSentinel;
  const clients: Redis[] = [];
  const caches: TokenCache[] = [];

  beforeAll(async () => {
    set = await LocalRedisSentinel.start(1);
  }, 30_000);
  afterAll(async () => {
    for (const cache of caches) await cache.close();
    for (const client of clients) client.disconnect();
    await set?.stop();
  });

  /** The client exactly as the README builds it, with this test's addresses and passwords. */
  function sentinelClient(): Redis {
    const env = { REDIS_PASSWORD: set.password, SENTINEL_PASSWORD: set.sentinelPassword };
    const redis = new Redis({
      sentinels: set.sentinelPorts.map((port) => ({ host: '127.0.0.1', port })),
      name: SENTINEL_MASTER_NAME, // the master group name in sentinel.conf
      password: env.REDIS_PASSWORD,
      sentinelPassword: env.SENTINEL_PASSWORD,
      // Follow a failover as soon as Sentinel announces it (+switch-master), not when the old master drops us.
      failoverDetector: true,
    });
    clients.push(redis);
    return redis;
  }

  it('the README snippet builds its client with the options this test uses', () => {
    const snippet = readmeSentinelSnippet();
    for (const option of ['sentinels: [', "name: 'mymaster'", 'password: process.env.REDIS_PASSWORD', 'sentinelPassword: process.env.SENTINEL_PASSWORD', 'failoverDetector: true']) {
      expect(snippet).toContain(option);
    }
    expect(snippet).toContain('new RedisTokenStore({ client: redis');
  });

  it('SENTINEL FAILOVER under load on two instances: 0 failed calls, at most one extra fetch per instance and key, no lock left, invalidations reach both', async () => {
    const keyPrefix = `tc-sentinel:${randomBytes(3).toString('hex')}:`;
    const perKey = new Map<string, number>();
    const source = tokenFunction(async (request) => {
      const subject = request.subject ?? '';
      perKey.set(subject, (perKey.get(subject) ?? 0) + 1);
      await sleep(50);
      return { accessToken: `sent-${randomBytes(8).toString('hex')}`, expiresIn: 600 };
    });
    const instances = [0, 1].map(() => {
      const store = new RedisTokenStore({ client: sentinelClient(), keyPrefix });
      const cache = new TokenCache({ sources: { api: source }, store });
      caches.push(cache);
      return { store, cache };
    });
    await until(() => instances.every(({ store }) => store.reachable), 10_000);
    const [a, b] = instances as [(typeof instances)[0], (typeof instances)[0]];
    const warm = await a.cache.getToken('api', { subject: 'warm' });
    expect(await b.cache.getToken('api', { subject: 'warm' })).toBe(warm);

    // Load: both instances call the warm key all the time and, every 100 ms, a new cold key (10 callers each).
    let failures = 0;
    const errors: string[] = [];
    let worstWaitMs = 0;
    let stop = false;
    let cold = 0;
    const timed = (cache: TokenCache, subject: string) => {
      const started = Date.now();
      return cache.getToken('api', { subject }).then(
        () => void (worstWaitMs = Math.max(worstWaitMs, Date.now() - started)),
        (error: unknown) => {
          failures++;
          if (errors.length < 3) errors.push(String(error));
        },
      );
    };
    const pending: Promise<unknown>[] = [];
    const load = (async () => {
      while (!stop) {
        const subject = `cold-${cold++}`;
        for (const { cache } of instances) for (let i = 0; i < 10; i++) pending.push(timed(cache, subject));
        for (const { cache } of instances) for (let i = 0; i < 5; i++) pending.push(timed(cache, 'warm'));
        await sleep(100);
      }
    })();
    await sleep(1_000);
    const { from, to } = await set.failover();
    await sleep(3_000);
    stop = true;
    await load;
    await Promise.all(pending);

    expect(errors).toEqual([]);
    expect(failures).toBe(0);
    expect(cold).toBeGreaterThan(20);
    // The warm key: never fetched again (both instances served it from memory throughout).
    expect(perKey.get('warm')).toBe(1);
    // A key is fetched once for the fleet, at most once per instance while the switch runs.
    const coldCounts = [...perKey.entries()].filter(([k]) => k.startsWith('cold-')).map(([, n]) => n);
    expect(coldCounts).toHaveLength(cold);
    expect(Math.max(...coldCounts)).toBeLessThanOrEqual(2);
    expect(coldCounts.filter((n) => n === 2).length).toBeLessThanOrEqual(Math.ceil(cold / 4));
    // Nobody waited anywhere near a lock's TTL (10 s): about the switch, at most the command timeout (2 s).
    expect(worstWaitMs).toBeLessThan(2_000 + 1_500);

    // After the switch: the new master holds the tokens, each with a TTL, and no lock.
    expect(await set.masterPort()).toBe(to);
    const master = set.node(to);
    clients.push(master);
    await until(async () => (await master.keys(`${keyPrefix}*:lock`)).length === 0, 1_000);
    const tokenKeys = await master.keys(`${keyPrefix}*:token`);
    expect(tokenKeys.length).toBeGreaterThan(cold / 2);
    for (const key of tokenKeys.slice(0, 20)) expect(await master.pttl(key)).toBeGreaterThan(0);
    expect(from).not.toBe(to);

    // Invalidations still reach both instances, and the next token is fetched once for both.
    for (const subject of ['warm', 'cold-1', `cold-${cold - 1}`]) {
      const held = await a.cache.getToken('api', { subject });
      expect(await b.cache.getToken('api', { subject })).toBe(held);
      const before = perKey.get(subject)!;
      expect(await b.cache.invalidate('api', { subject }, held)).toBe(true);
      await until(() => a.cache.peek('api', { subject }) === undefined && b.cache.peek('api', { subject }) === undefined, 2_000);
      const [x, y] = await Promise.all([a.cache.getToken('api', { subject }), b.cache.getToken('api', { subject })]);
      expect(x).toBe(y);
      expect(x).not.toBe(held);
      expect(perKey.get(subject)).toBe(before + 1);
    }
    expect(instances.every(({ store }) => store.reachable)).toBe(true);
  }, 60_000);
});
