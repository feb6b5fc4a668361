/**
 * RedisTokenStore under Redis faults, against private redis-servers: a paused Redis (`CLIENT PAUSE`, what a
 * failover does), a lock command that times out, a token that claims to live forever, close() while Redis
 * is down (a child process must exit at once).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { TokenCache, tokenFunction } from 'nestjs-token-cache/core';
import { RedisTokenStore, type RedisTokenStoreOptions } from 'nestjs-token-cache/redis';
import { PrivateRedisServer, redisServerInstalled } from '../support/redis-test-server.js';

const installed = redisServerInstalled();
if (!installed && process.env.TOKEN_CACHE_REQUIRE_REDIS === '1') throw new Error('redis-server is not installed, and TOKEN_CACHE_REQUIRE_REDIS=1 makes these tests mandatory');
const builtRedis = fileURLToPath(new URL('../../libs/token-cache/dist/redis/index.js', import.meta.url));
const builtCore = fileURLToPath(new URL('../../libs/token-cache/dist/core/index.js', import.meta.url));

function countingSource(options: { delayMs?: number; expiresIn?: number } = {}) {
  const state = { calls: 0 };
  const source = tokenFunction(async () => {
    state.calls++;
    if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
    return { accessToken: `tok-${state.calls}-${randomBytes(6).toString('hex')}`, expiresIn: options.expiresIn ?? 600 };
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

/** Every call's wait in ms, and the distinct tokens. */
async function timedCalls(calls: (() => Promise<string>)[]): Promise<{ waits: number[]; tokens: Set<string> }> {
  const started = Date.now();
  const results = await Promise.all(calls.map(async (call) => [await call(), Date.now() - started] as const));
  return { waits: results.map(([, ms]) => ms), tokens: new Set(results.map(([t]) => t)) };
}

describe.skipIf(!installed)('RedisTokenStore under Redis faults (private redis-server)', () => {
  let server: PrivateRedisServer;
  let admin: Redis;
  const closers: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    server = await PrivateRedisServer.start();
    admin = new Redis(server.url);
  });
  afterEach(async () => {
    await admin.client('UNPAUSE');
    for (const close of closers.splice(0).reverse()) await close();
  });
  afterAll(async () => {
    admin.disconnect();
    await server.stop();
  });

  function instance(source: ReturnType<typeof tokenFunction>, storeOptions: RedisTokenStoreOptions) {
    const store = new RedisTokenStore({ url: server.url, ...storeOptions });
    const cache = new TokenCache({ sources: { api: source }, store });
    closers.push(() => cache.close());
    return { store, cache };
  }

  it('CLIENT PAUSE 1500 during a cold load: callers on every instance wait about the pause (not a lock TTL), one fetch, no lock left', async () => {
    const keyPrefix = `tc-pause:${randomBytes(3).toString('hex')}:`;
    const { source, state } = countingSource({ delayMs: 50 });
    const instances = [0, 1, 2].map(() => instance(source, { keyPrefix }));
    await until(() => instances.every(({ store }) => store.reachable));
    await admin.client('PAUSE', 1_500);
    const { waits, tokens } = await timedCalls(instances.flatMap(({ cache }) => Array.from({ length: 20 }, () => () => cache.getToken('api'))));
    expect(tokens.size).toBe(1);
    expect(state.calls).toBe(1);
    expect(Math.max(...waits)).toBeGreaterThanOrEqual(1_300);
    expect(Math.max(...waits)).toBeLessThan(3_000); // the lock TTL is 10 s: nobody waited on a stranded lock
    expect(await admin.exists(`${keyPrefix}{api}:lock`)).toBe(0);
  });

  it('a lock command that timed out (Redis paused for writes) is released when Redis runs it late: nobody waits on it', async () => {
    const keyPrefix = `tc-late:${randomBytes(3).toString('hex')}:`;
    const { source, state } = countingSource({ delayMs: 20 });
    // A gives up on its commands after 300 ms and fetches on its own; B keeps the default patience.
    const a = instance(source, { keyPrefix, commandTimeoutMs: 300 });
    const b = instance(source, { keyPrefix });
    await until(() => a.store.reachable && b.store.reachable);
    // Reads pass, scripts (the lock) wait: A's lock command times out, and Redis runs it after the pause.
    const pausedAt = Date.now();
    await admin.client('PAUSE', 1_000, 'WRITE');
    const first = await timedCalls([() => a.cache.getToken('api')]);
    expect(Math.max(...first.waits)).toBeLessThan(900); // A did not wait for the pause
    await new Promise((r) => setTimeout(r, pausedAt + 1_100 - Date.now()));
    // The lock A's late command took is gone right after the pause (released, not left for its 10 s TTL).
    await until(async () => (await admin.exists(`${keyPrefix}{api}:lock`)) === 0, 500);
    // So when the token is invalidated now (a 401), B's callers fetch at once instead of waiting on that lock.
    await b.cache.invalidate('api');
    const second = await timedCalls(Array.from({ length: 10 }, () => () => b.cache.getToken('api')));
    expect(second.tokens.size).toBe(1);
    expect(Math.max(...second.waits)).toBeLessThan(1_000);
    expect(state.calls).toBe(2);
  });

  it('every key the store writes has a TTL, also for a token claiming expires_in 1e20 (and for the lock while it is held)', async () => {
    const keyPrefix = `tc-ttl:${randomBytes(3).toString('hex')}:`;
    const { source } = countingSource({ delayMs: 200, expiresIn: 1e20 });
    const { cache } = instance(source, { keyPrefix });
    const pending = cache.getToken('api', { subject: 'forever' });
    await until(async () => (await admin.keys(`${keyPrefix}*`)).length > 0);
    for (const key of await admin.keys(`${keyPrefix}*`)) expect(await admin.pttl(key), key).toBeGreaterThan(0);
    await pending;
    const keys = await admin.keys(`${keyPrefix}*`);
    expect(keys).toEqual([`${keyPrefix}{api|sub=forever}:token`]);
    const ttl = await admin.pttl(keys[0]!);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30 * 86_400_000);
  });

  it('close() while Redis is down lets the process exit at once (no ioredis reconnect timer keeps it alive)', async () => {
    if (!existsSync(builtRedis)) throw new Error(`${builtRedis} is missing: run "npm run build:lib" first (npm test does it).`);
    // A port nobody listens on (down from the start), and a Redis that goes down after the store connected.
    const dead = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const dying = await PrivateRedisServer.start();
    const script = `
      import { TokenCache, tokenFunction } from ${JSON.stringify(builtCore)};
      import { RedisTokenStore } from ${JSON.stringify(builtRedis)};
      const store = new RedisTokenStore({ url: process.env.URL });
      const cache = new TokenCache({ sources: { api: tokenFunction(() => 'local-token') }, store });
      await cache.getToken('api');
      process.send('ready');
      process.once('message', async () => {
        const started = Date.now();
        await cache.close();
        process.send(Date.now() - started);
        process.disconnect();
      });`;
    for (const url of [`redis://127.0.0.1:${dead}`, dying.url]) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, URL: url }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const exited = new Promise<number>((resolve) => child.once('exit', () => resolve(Date.now())));
      await new Promise((resolve) => child.once('message', resolve));
      if (url === dying.url) {
        await dying.stop();
        await new Promise((r) => setTimeout(r, 300)); // ioredis is now between reconnect attempts
      }
      const closeTook = new Promise<number>((resolve) => child.once('message', (ms) => resolve(ms as number)));
      const sent = Date.now();
      child.send('close');
      expect(await closeTook, url).toBeLessThan(200);
      // Before the fix an ioredis timer kept it alive ~2 s; a process exit on a loaded machine takes a few hundred ms.
      expect((await exited) - sent, url).toBeLessThan(1_200);
    }
  });
});
