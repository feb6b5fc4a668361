/**
 * RedisTokenStore on a real local Redis Cluster (3 masters, started by the test): single-slot scripts,
 * invalidations reaching every instance, TTLs on every key.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from 'ioredis';
import { TokenCache, tokenFunction } from 'nestjs-token-cache/core';
import { RedisTokenStore } from 'nestjs-token-cache/redis';
import { LocalRedisCluster } from '../support/redis-cluster.js';
import { redisServerInstalled } from '../support/redis-test-server.js';

const installed = redisServerInstalled();
if (!installed && process.env.TOKEN_CACHE_REQUIRE_REDIS === '1') throw new Error('redis-server is not installed, and TOKEN_CACHE_REQUIRE_REDIS=1 makes the Cluster tests mandatory');

function countingSource(delayMs = 50) {
  const state = { calls: 0, perSubject: new Map<string, number>() };
  const source = tokenFunction(async (request) => {
    state.calls++;
    const subject = request.subject ?? '';
    state.perSubject.set(subject, (state.perSubject.get(subject) ?? 0) + 1);
    await new Promise((r) => setTimeout(r, delayMs));
    return { accessToken: `tok-${randomBytes(8).toString('hex')}`, expiresIn: 600 };
  });
  return { source, state };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.skipIf(!installed)('RedisTokenStore on a Redis Cluster (3 local masters)', () => {
  let cluster: LocalRedisCluster;
  const clients: Cluster[] = [];
  const caches: TokenCache[] = [];

  beforeAll(async () => {
    cluster = await LocalRedisCluster.start();
  }, 30_000);
  afterAll(async () => {
    for (const cache of caches) await cache.close();
    for (const client of clients) client.disconnect();
    await cluster?.stop();
  });

  function instance(source: ReturnType<typeof tokenFunction>, keyPrefix: string) {
    const client = cluster.client();
    clients.push(client);
    const store = new RedisTokenStore({ client, keyPrefix });
    const cache = new TokenCache({ sources: { api: source }, store });
    caches.push(cache);
    return { client, store, cache };
  }

  it('three instances share one token per key for keys spread over every master: one fetch per key', async () => {
    const keyPrefix = `tc-cluster:${randomBytes(3).toString('hex')}:`;
    const { source, state } = countingSource();
    const instances = [0, 1, 2].map(() => instance(source, keyPrefix));
    await until(() => instances.every(({ store }) => store.reachable));
    const subjects = Array.from({ length: 12 }, (_, i) => `user-${i}`);
    const results = await Promise.all(
      subjects.flatMap((subject) => instances.flatMap(({ cache }) => Array.from({ length: 5 }, () => cache.getToken('api', { subject })))),
    );
    expect(state.calls).toBe(subjects.length);
    for (const subject of subjects) expect(state.perSubject.get(subject)).toBe(1);
    // Each subject got one token, the same in every instance.
    for (const [i, subject] of subjects.entries()) {
      const tokens = new Set(results.slice(i * 15, (i + 1) * 15));
      expect(tokens.size, subject).toBe(1);
    }
    // The keys live on more than one master (so the test did cross slots), each with a TTL, no lock left.
    const admin = instances[0]!.client;
    const perNode = await Promise.all(admin.nodes('master').map((node) => node.keys(`${keyPrefix}*`)));
    expect(perNode.filter((keys) => keys.length > 0).length).toBeGreaterThan(1);
    const allKeys = perNode.flat();
    expect(allKeys).toHaveLength(subjects.length);
    for (const key of allKeys) {
      expect(key).toMatch(/^tc-cluster:\w+:\{api\|sub=user-\d+\}:token$/);
      const ttl = await admin.pttl(key);
      expect(ttl).toBeGreaterThan(590_000);
      expect(ttl).toBeLessThanOrEqual(600_000);
    }
  });

  it('an invalidation in one instance reaches the others (PUBLISH reaches every node), whatever master they listen on', async () => {
    const keyPrefix = `tc-cluster:${randomBytes(3).toString('hex')}:`;
    const { source, state } = countingSource(10);
    const instances = [0, 1, 2].map(() => instance(source, keyPrefix));
    await until(() => instances.every(({ store }) => store.reachable));
    const subjects = ['a', 'b', 'c', 'd', 'e', 'f'];
    for (const subject of subjects) {
      const token = await instances[0]!.cache.getToken('api', { subject });
      for (const { cache } of instances) expect(await cache.getToken('api', { subject })).toBe(token);
    }
    expect(state.calls).toBe(subjects.length);
    for (const subject of subjects) {
      const old = await instances[1]!.cache.getToken('api', { subject });
      expect(await instances[1]!.cache.invalidate('api', { subject }, old)).toBe(true);
      await until(() => instances.every(({ cache }) => cache.peek('api', { subject }) === undefined), 2_000);
      const fresh = await instances[2]!.cache.getToken('api', { subject });
      expect(fresh).not.toBe(old);
      await until(async () => (await instances[0]!.cache.getToken('api', { subject })) === fresh, 2_000);
    }
    expect(state.calls).toBe(subjects.length * 2);
  });
});

describe.skipIf(!installed)('RedisTokenStore on a Redis Cluster whose master fails over (3 masters, 3 replicas)', () => {
  let cluster: LocalRedisCluster;
  const clients: Cluster[] = [];
  const caches: TokenCache[] = [];

  beforeAll(async () => {
    cluster = await LocalRedisCluster.start({ replicas: 1 });
  }, 60_000);
  afterAll(async () => {
    for (const cache of caches) await cache.close();
    for (const client of clients) client.disconnect();
    await cluster?.stop();
  });

  it('a master is killed under load on two instances: its replica takes over; 0 failed calls, at most one fetch per instance and key, no lock left, invalidations reach both', async () => {
    const keyPrefix = `tc-cluster-fo:${randomBytes(3).toString('hex')}:`;
    const { source, state } = countingSource(20);
    const instances = [0, 1].map(() => {
      const client = cluster.client();
      clients.push(client);
      const store = new RedisTokenStore({ client, keyPrefix });
      const cache = new TokenCache({ sources: { api: source }, store });
      caches.push(cache);
      return { client, store, cache };
    });
    await until(() => instances.every(({ store }) => store.reachable), 10_000);
    // Warm keys on every master.
    const warm = Array.from({ length: 9 }, (_, i) => `warm-${i}`);
    for (const subject of warm) await Promise.all(instances.map(({ cache }) => cache.getToken('api', { subject })));
    expect(state.calls).toBe(warm.length);

    let failures = 0;
    const errors: string[] = [];
    let worstWaitMs = 0;
    let stop = false;
    let cold = 0;
    const pending: Promise<unknown>[] = [];
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
    const load = (async () => {
      while (!stop) {
        const subject = `cold-${cold++}`;
        for (const { cache } of instances) for (let i = 0; i < 5; i++) pending.push(timed(cache, subject));
        for (const { cache } of instances) for (const w of warm) pending.push(timed(cache, w));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await new Promise((r) => setTimeout(r, 1_000));
    const before = cluster.masterPorts();
    await cluster.kill(before[0]!);
    await cluster.untilHealthy(20_000);
    await new Promise((r) => setTimeout(r, 1_500));
    stop = true;
    await load;
    await Promise.all(pending);

    expect(errors).toEqual([]);
    expect(failures).toBe(0);
    expect(cluster.masterPorts()).not.toContain(before[0]);
    // Warm keys were served from memory throughout: never fetched again.
    for (const subject of warm) expect(state.perSubject.get(subject), subject).toBe(1);
    // A cold key: one fetch for both, or one per instance while its master was gone.
    const coldCounts = [...state.perSubject.entries()].filter(([k]) => k.startsWith('cold-')).map(([, n]) => n);
    expect(coldCounts).toHaveLength(cold);
    expect(Math.max(...coldCounts)).toBeLessThanOrEqual(2);
    // About the failover (node timeout 2 s, election) plus the command timeout: far below a lock TTL of waiting.
    expect(worstWaitMs).toBeLessThan(10_000);

    // After the failover: one fetch per new key for both instances, no lock left anywhere, every key with a TTL.
    const after = Array.from({ length: 6 }, (_, i) => `after-${i}`);
    for (const subject of after) {
      const [x, y] = await Promise.all(instances.map(({ cache }) => cache.getToken('api', { subject })));
      expect(x).toBe(y);
      expect(state.perSubject.get(subject)).toBe(1);
    }
    const admin = instances[0]!.client;
    await until(async () => (await Promise.all(admin.nodes('master').map((n) => n.keys(`${keyPrefix}*:lock`)))).flat().length === 0, 3_000);
    const keys = (await Promise.all(admin.nodes('master').map((n) => n.keys(`${keyPrefix}*`)))).flat();
    for (const key of keys.slice(0, 30)) expect(await admin.pttl(key), key).toBeGreaterThan(0);
    // Invalidations reach both instances, whatever node their subscriber was on.
    for (const subject of ['warm-0', 'warm-4', 'after-0']) {
      const held = await instances[0]!.cache.getToken('api', { subject });
      expect(await instances[1]!.cache.getToken('api', { subject })).toBe(held);
      expect(await instances[1]!.cache.invalidate('api', { subject }, held)).toBe(true);
      await until(() => instances.every(({ cache }) => cache.peek('api', { subject }) === undefined), 3_000);
    }
  }, 90_000);
});
