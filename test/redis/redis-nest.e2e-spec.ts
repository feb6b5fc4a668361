/**
 * RedisTokenStore inside real Nest apps: two apps share one token, health shows `store.reachable`
 * (false while Redis is down, while calls keep working), and `app.close()` closes the store's connections.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { TokenCacheModule, TokenCacheService } from 'nestjs-token-cache';
import { RedisTokenStore } from 'nestjs-token-cache/redis';
import { bootObservedApp, switchableSource, type ObservedApp } from '../support/observed-app.js';
import { deleteTestKeys, PrivateRedisServer, TEST_REDIS_URL, testRedisAvailable, uniquePrefix } from '../support/redis-test-server.js';

const hasRedis = await testRedisAvailable('RedisTokenStore in Nest apps');

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const redisClients = async (url: string, name: string) => {
  const admin = new Redis(url);
  try {
    return String(await admin.client('LIST'))
      .split('\n')
      .filter((line) => line.includes(` name=${name} `)).length;
  } finally {
    admin.disconnect();
  }
};

describe.skipIf(!hasRedis)('RedisTokenStore in Nest apps', () => {
  const apps: ObservedApp[] = [];
  const servers: PrivateRedisServer[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    for (const server of servers.splice(0)) await server.stop();
  });
  afterAll(() => deleteTestKeys());

  it('two apps share one token; health shows the redis store reachable, then not while Redis is down (still up, still serving)', async () => {
    const server = await PrivateRedisServer.start();
    servers.push(server);
    const keyPrefix = uniquePrefix('nest');
    const source = switchableSource('nest-token');
    for (let i = 0; i < 2; i++) {
      apps.push(await bootObservedApp(TokenCacheModule.forRoot({ sources: { api: source }, store: new RedisTokenStore({ url: server.url, keyPrefix }) })));
    }
    const [a, b] = apps.map((app) => app.app.get(TokenCacheService));
    const token = await a!.getToken('api');
    expect(await b!.getToken('api')).toBe(token);
    expect(source.calls).toBe(1);
    const healthy = await apps[1]!.get('/health');
    expect(healthy.status).toBe(200);
    expect(healthy.body.info['token-cache'].store).toEqual({ type: 'redis', reachable: true });

    await server.stop();
    await until(async () => (await apps[1]!.get('/health')).body?.info?.['token-cache']?.store?.reachable === false);
    const down = await apps[1]!.get('/health');
    expect(down.status).toBe(200);
    expect(down.body.info['token-cache']).toMatchObject({ status: 'up', store: { type: 'redis', reachable: false } });
    expect(await b!.getToken('api')).toBe(token);
    expect(await b!.getToken('api', { subject: 'new' })).toBe('nest-token-2');

    expect(await server.startProcess()).toBe(true);
    await until(async () => (await apps[1]!.get('/health')).body?.info?.['token-cache']?.store?.reachable === true, 10_000);
    for (const app of apps) {
      for (const line of app.logger.lines) expect(line.message).not.toContain('nest-token-');
    }
  });

  it('app.close() closes the connections the store opened itself, and never a client passed in', async () => {
    const name = `tc-nest-close-${process.pid}-${Date.now()}`;
    const userClient = new Redis(TEST_REDIS_URL, { connectionName: `${name}-user` });
    try {
      const own = await bootObservedApp(
        TokenCacheModule.forRoot({ sources: { api: switchableSource() }, store: new RedisTokenStore({ url: `${TEST_REDIS_URL}?connectionName=${name}-own`, keyPrefix: uniquePrefix('nest') }) }),
      );
      const shared = await bootObservedApp(
        TokenCacheModule.forRoot({ sources: { api: switchableSource() }, store: new RedisTokenStore({ client: userClient, keyPrefix: uniquePrefix('nest') }) }),
      );
      await own.app.get(TokenCacheService).getToken('api');
      await shared.app.get(TokenCacheService).getToken('api');
      await until(async () => (await redisClients(TEST_REDIS_URL, `${name}-own`)) === 2);
      await until(async () => (await redisClients(TEST_REDIS_URL, `${name}-user`)) === 2); // the user's + the store's subscriber

      await own.close();
      await shared.close();
      await until(async () => (await redisClients(TEST_REDIS_URL, `${name}-own`)) === 0);
      await until(async () => (await redisClients(TEST_REDIS_URL, `${name}-user`)) === 1);
      expect(userClient.status).toBe('ready');
      expect(await userClient.ping()).toBe('PONG');
    } finally {
      userClient.disconnect();
    }
  });
});
