/**
 * Redis mode of the demo: two instances, the second reusing the first's IdP and API (DEMO_IDP_URL /
 * DEMO_API_URL) and both on one Redis (REDIS_URL), share every token: one login, one client-credentials
 * grant, one refresh for both.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemo, type Demo } from '../../apps/demo/src/demo.js';
import { DEMO_CLIENTS } from '../../apps/demo/src/demo.config.js';
import { TEST_REDIS_URL, testRedisAvailable, uniquePrefix } from '../support/redis-test-server.js';

const hasRedis = await testRedisAvailable('demo Redis mode e2e');

describe.skipIf(!hasRedis)('demo in Redis mode (two instances, one Redis)', () => {
  const prefix = uniquePrefix('demo');
  let first: Demo;
  let second: Demo;
  let redis: Redis;

  beforeAll(async () => {
    redis = new Redis(TEST_REDIS_URL);
    first = await createDemo({ port: 0, apiPort: 0, idpPort: 0, ttlSeconds: 30, logger: false, redisUrl: TEST_REDIS_URL, redisKeyPrefix: prefix });
    second = await createDemo({ port: 0, idpUrl: first.idpUrl, apiUrl: first.apiUrl, logger: false, redisUrl: TEST_REDIS_URL, redisKeyPrefix: prefix });
  });

  afterAll(async () => {
    await second?.close();
    await first?.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('reuses the first instance IdP (and its token lifetime)', () => {
    expect(second.idp).toBeUndefined();
    expect(second.idpUrl).toBe(first.idpUrl);
    expect(second.options.ttlSeconds).toBe(30);
  });

  it('shares one token per key across both instances', async () => {
    for (const demo of [first, second, first, second]) {
      for (const path of ['/trading/alice-scalper/accounts', '/trading/bob-news/accounts', '/gateway/orders', '/music/now-playing']) {
        const res = await fetch(`${demo.url}${path}`);
        expect(res.status, `${demo.url}${path}`).toBe(200);
      }
    }
    const idp = first.idp!;
    expect(idp.stats().counts.filter((c) => c.grant === 'api_key_login').map((c) => [c.client, c.count])).toEqual([
      ['alice', 1],
      ['bob', 1],
    ]);
    // Both instances preload the gateway at bootstrap: one fetch, the other found it in Redis.
    expect(idp.countFor(DEMO_CLIENTS.gateway.clientId)).toBe(1);
    expect(idp.countFor(DEMO_CLIENTS.music.clientId)).toBe(1);
    expect(await redis.keys(`${prefix}*`)).not.toHaveLength(0);

    const health = (await (await fetch(`${second.url}/health`)).json()) as { details: Record<string, { store: unknown }> };
    expect(health.details['token-cache'].store).toEqual({ type: 'redis', reachable: true });
  });
});
