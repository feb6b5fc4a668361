/**
 * Many app instances on one Redis, as real processes: each child (test/support/redis-worker.mjs) runs the
 * BUILT library's TokenCache over a RedisTokenStore and fetches from this process's mock IdP, which counts
 * every token request of every process.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMockIdp, type MockIdp } from '../support/mock-idp.js';
import { deleteTestKeys, PrivateRedisServer, TEST_REDIS_URL, testRedisAvailable, uniquePrefix } from '../support/redis-test-server.js';

const hasRedis = await testRedisAvailable('RedisTokenStore multi-process');
const workerScript = fileURLToPath(new URL('../support/redis-worker.mjs', import.meta.url));
const builtStore = fileURLToPath(new URL('../../libs/token-cache/dist/redis/index.js', import.meta.url));

interface Burst {
  tokens: string[];
  failures: number;
  errors: string[];
}

class Worker {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    child.on('message', (m: { id?: number; ok?: boolean; result?: unknown; error?: string }) => {
      if (m.id === undefined) return;
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.ok) p?.resolve(m.result);
      else p?.reject(new Error(m.error));
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static start(env: Record<string, string>): Promise<Worker> {
    const child = fork(workerScript, [], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const worker = new Worker(child);
    return new Promise((resolve, reject) => {
      child.once('message', (m: { ready?: boolean; reachable?: boolean }) =>
        m.ready && m.reachable ? resolve(worker) : reject(new Error('worker could not reach Redis')),
      );
      child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
    });
  }

  call<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, cmd, ...args });
    });
  }

  /** Closes the worker's cache and store; the process must then exit on its own (nothing left open). */
  async close(): Promise<number | null> {
    if (this.child.exitCode !== null || !this.child.connected) return this.child.exitCode;
    await this.call('close');
    const timeout = new Promise<'hung'>((r) => setTimeout(() => r('hung'), 5_000).unref());
    const result = await Promise.race([this.exited, timeout]);
    if (result === 'hung') {
      this.child.kill('SIGKILL');
      throw new Error('worker did not exit after close(): something was left open');
    }
    return result;
  }
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!hasRedis)('RedisTokenStore across processes (real Redis, 4 child processes)', () => {
  let idp: MockIdp;
  let workers: Worker[] = [];
  const servers: PrivateRedisServer[] = [];

  beforeAll(async () => {
    if (!existsSync(builtStore)) throw new Error(`${builtStore} is missing: run "npm run build:lib" first (npm test does it).`);
    idp = await startMockIdp();
    // Two tokens signed in the same second would be byte-identical: a jti tells a new token from the old one.
    idp.server.service.on('beforeTokenSigning', (token: { payload: Record<string, unknown> }) => {
      token.payload.jti = randomUUID();
    });
  });
  afterEach(async () => {
    const closing = workers.splice(0).map((w) => w.close());
    for (const server of servers.splice(0)) await server.stop();
    const codes = await Promise.all(closing);
    expect(codes).toEqual(codes.map(() => 0));
  });
  afterAll(async () => {
    await deleteTestKeys();
    await idp.close();
  });

  async function startWorkers(redisUrl: string, keyPrefix: string): Promise<Worker[]> {
    workers = await Promise.all([0, 1, 2, 3].map(() => Worker.start({ REDIS_URL: redisUrl, KEY_PREFIX: keyPrefix, TOKEN_URL: idp.tokenUrl })));
    return workers;
  }

  it('4 processes x 100 concurrent callers of a cold key: exactly 1 token fetch, one token', async () => {
    const ws = await startWorkers(TEST_REDIS_URL, uniquePrefix('mp-flight'));
    const before = idp.tokenRequests;
    const bursts = await Promise.all(ws.map((w) => w.call<Burst>('burst', { callers: 100 })));
    expect(idp.tokenRequests - before, JSON.stringify(bursts)).toBe(1);
    expect(bursts.map((b) => b.failures)).toEqual([0, 0, 0, 0]);
    const tokens = new Set(bursts.flatMap((b) => b.tokens));
    expect(tokens.size).toBe(1);
    await idp.verify([...tokens][0]!);
  }, 60_000); // four processes start and connect: slow on a loaded machine

  it('an invalidation in one process reaches the others within a second; all then use the one new token', async () => {
    const ws = await startWorkers(TEST_REDIS_URL, uniquePrefix('mp-inval'));
    const firsts = await Promise.all(ws.map((w) => w.call<Burst>('burst', { callers: 10 })));
    expect(new Set(firsts.flatMap((b) => b.tokens)).size, JSON.stringify(firsts)).toBe(1);
    const old = firsts[0]!.tokens[0]!;
    const before = idp.tokenRequests;

    expect(await ws[0]!.call<boolean>('invalidate', { token: old })).toBe(true);
    const started = Date.now();
    await until(async () => (await Promise.all(ws.map((w) => w.call<string | null>('peek', { key: 'api' })))).every((t) => t !== old), 1_000);
    expect(Date.now() - started).toBeLessThan(1_000);

    const after = await Promise.all(ws.map((w) => w.call<Burst>('burst', { callers: 50 })));
    const tokens = new Set(after.flatMap((b) => b.tokens));
    expect(tokens.size).toBe(1);
    expect(tokens.has(old)).toBe(false);
    expect(idp.tokenRequests - before).toBe(1);
  }, 60_000); // four processes start and connect: slow on a loaded machine

  it('Redis stopped mid-run: 0 failed calls; when it is back, every process reconnects and shares again', async () => {
    const server = await PrivateRedisServer.start();
    servers.push(server);
    const ws = await startWorkers(server.url, uniquePrefix('mp-down'));
    await Promise.all(ws.map((w) => w.call<Burst>('burst', { callers: 5 })));

    const runs = ws.map((w, i) => w.call<{ calls: number; failures: number; errors: string[] }>('run', { durationMs: 3_000, tag: `w${i}` }));
    await new Promise((r) => setTimeout(r, 700));
    await server.stop();
    await until(async () => (await Promise.all(ws.map((w) => w.call<boolean>('reachable')))).every((r) => !r), 3_000);
    await new Promise((r) => setTimeout(r, 800));
    expect(await server.startProcess()).toBe(true);
    const results = await Promise.all(runs);
    for (const r of results) {
      expect(r.errors).toEqual([]);
      expect(r.failures).toBe(0);
      expect(r.calls).toBeGreaterThan(100);
    }

    expect(await Promise.all(ws.map((w) => w.call<boolean>('waitReachable', { timeoutMs: 10_000 })))).toEqual([true, true, true, true]);
    const before = idp.tokenRequests;
    const bursts = await Promise.all(ws.map((w) => w.call<Burst>('burst', { callers: 25, params: { subject: 'after-restart' } })));
    expect(bursts.map((b) => b.failures)).toEqual([0, 0, 0, 0]);
    expect(new Set(bursts.flatMap((b) => b.tokens)).size).toBe(1);
    expect(idp.tokenRequests - before).toBe(1);
  }, 60_000); // 4 processes, a Redis restart and 10 s of reconnect budget: more than the default 20 s on a loaded machine
});
