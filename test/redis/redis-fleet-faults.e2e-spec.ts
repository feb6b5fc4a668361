/**
 * Redis faults with real processes: 3 app instances (test/support/redis-worker.mjs, the BUILT library) on a
 * private redis-server, behind an IdP of this test that answers slowly and counts token fetches per key and
 * per process. Redis is frozen (SIGSTOP/SIGCONT) or paused (CLIENT PAUSE) mid-load, and the instance holding
 * a fetch lock is killed mid-fetch; the tests count fetches per key and the worst caller wait.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { PrivateRedisServer, redisServerInstalled } from '../support/redis-test-server.js';

const installed = redisServerInstalled();
if (!installed && process.env.TOKEN_CACHE_REQUIRE_REDIS === '1') throw new Error('redis-server is not installed, and TOKEN_CACHE_REQUIRE_REDIS=1 makes these tests mandatory');
const workerScript = fileURLToPath(new URL('../support/redis-worker.mjs', import.meta.url));
const builtStore = fileURLToPath(new URL('../../libs/token-cache/dist/redis/index.js', import.meta.url));

interface Burst {
  tokens: string[];
  failures: number;
  errors: string[];
  maxWaitMs: number;
}

/** A slow IdP: every token request waits `delayMs`; fetches are counted per subject ('' = none) and per process. */
async function startSlowIdp(delayMs: number) {
  const perKey = new Map<string, number>();
  const byWorker: { subject: string; pid: number }[] = [];
  let n = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const subject = new URLSearchParams(body).get('subject') ?? '';
      perKey.set(subject, (perKey.get(subject) ?? 0) + 1);
      byWorker.push({ subject, pid: Number(req.headers['x-worker']) });
      setTimeout(() => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ access_token: `slow-${++n}-${randomBytes(6).toString('hex')}`, token_type: 'Bearer', expires_in: 3600 }));
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`,
    perKey,
    byWorker,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

class Worker {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private constructor(readonly child: ChildProcess) {
    child.on('message', (m: { id?: number; ok?: boolean; result?: unknown; error?: string }) => {
      if (m.id === undefined) return;
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.ok) p?.resolve(m.result);
      else p?.reject(new Error(m.error));
    });
    child.once('exit', () => {
      for (const p of this.pending.values()) p.reject(new Error('worker exited'));
      this.pending.clear();
    });
  }

  static start(env: Record<string, string>): Promise<Worker> {
    const child = fork(workerScript, [], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const worker = new Worker(child);
    return new Promise((resolve, reject) => {
      child.once('message', (m: { ready?: boolean; reachable?: boolean }) => (m.ready && m.reachable ? resolve(worker) : reject(new Error('worker could not reach Redis'))));
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

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null || !this.child.connected) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    await this.call('close').catch(() => undefined);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000).unref())]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!installed)('Redis faults with 3 app processes (private redis-server, slow IdP)', () => {
  let server: PrivateRedisServer;
  let admin: Redis;
  let workers: Worker[] = [];
  let idp: Awaited<ReturnType<typeof startSlowIdp>>;

  beforeAll(async () => {
    if (!existsSync(builtStore)) throw new Error(`${builtStore} is missing: run "npm run build:lib" first (npm test does it).`);
    server = await PrivateRedisServer.start();
    admin = new Redis(server.url);
  });
  afterEach(async () => {
    server.signal('SIGCONT');
    await admin.client('UNPAUSE').catch(() => undefined);
    await Promise.all(workers.splice(0).map((w) => w.close()));
    await idp?.close();
  });
  afterAll(async () => {
    admin.disconnect();
    await server.stop();
  });

  async function fleet(idpDelayMs: number, lockTtlMs = 10_000): Promise<Worker[]> {
    idp = await startSlowIdp(idpDelayMs);
    const env = { REDIS_URL: server.url, KEY_PREFIX: `tc-faults:${randomBytes(3).toString('hex')}:`, TOKEN_URL: idp.url, LOCK_TTL_MS: String(lockTtlMs) };
    workers = await Promise.all([0, 1, 2].map(() => Worker.start(env)));
    return workers;
  }

  const locksLeft = async () => (await admin.keys('tc-faults:*:lock')).length;

  it('the instance holding the fetch lock is killed mid-fetch: the others wait at most lockTtlMs for it, then one fetches; 0 failures', async () => {
    const ws = await fleet(800, 1_500);
    const bursts = ws.map((w) => w.call<Burst>('burst', { callers: 30, params: { subject: 'doomed' } }));
    await until(() => (idp.perKey.get('doomed') ?? 0) >= 1, 5_000);
    const holderPid = idp.byWorker.find((f) => f.subject === 'doomed')!.pid;
    const holder = ws.find((w) => w.child.pid === holderPid)!;
    holder.child.kill('SIGKILL');
    const survivors = ws.filter((w) => w !== holder);
    const results = (await Promise.allSettled(bursts)).flatMap((r, i) => (ws[i] === holder ? [] : [r]));
    const done = results.map((r) => (r as PromiseFulfilledResult<Burst>).value);
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(done.map((b) => b.failures)).toEqual([0, 0]);
    expect(new Set(done.flatMap((b) => b.tokens)).size).toBe(1);
    // The dead holder's fetch and one more: not one per surviving process.
    expect(idp.perKey.get('doomed')).toBe(2);
    // Worst wait: the dead fetch's start, the lock's TTL after its last renewal, one more fetch, and slack.
    expect(Math.max(...done.map((b) => b.maxWaitMs))).toBeLessThan(800 + 1_500 + 800 + 1_500);
    expect(survivors).toHaveLength(2);
    expect(await locksLeft()).toBe(0);
  }, 60_000);

  it('Redis frozen (SIGSTOP) for 3 s under load, then resumed: 0 failed calls, callers wait at most about the command timeout, no lock left, shared again', async () => {
    const ws = await fleet(100);
    await Promise.all(ws.map((w) => w.call<Burst>('burst', { callers: 5 })));
    const runs = ws.map((w, i) => w.call<{ calls: number; failures: number; errors: string[]; worstWaitMs: number }>('run', { durationMs: 5_000, tag: `stop${i}` }));
    await new Promise((r) => setTimeout(r, 700));
    server.signal('SIGSTOP');
    await new Promise((r) => setTimeout(r, 3_000));
    server.signal('SIGCONT');
    const results = await Promise.all(runs);
    for (const r of results) {
      expect(r.errors).toEqual([]);
      expect(r.failures).toBe(0);
      // commandTimeoutMs (2 s) for the read, maybe once more for the lock, then a local fetch (100 ms), with slack.
      expect(r.worstWaitMs).toBeLessThan(2_000 + 2_000 + 100 + 1_500);
    }
    // Every cold key was fetched at most once per process, and most of them once for the fleet.
    const cold = [...idp.perKey.entries()].filter(([subject]) => subject.startsWith('stop'));
    expect(cold.length).toBeGreaterThan(20);
    expect(Math.max(...cold.map(([, n]) => n))).toBeLessThanOrEqual(3);
    expect(cold.filter(([, n]) => n === 1).length / cold.length).toBeGreaterThan(0.5);
    await until(async () => (await locksLeft()) === 0, 3_000);
    // Shared again: a new key across the three processes costs one fetch.
    const bursts = await Promise.all(ws.map((w) => w.call<Burst>('burst', { callers: 20, params: { subject: 'after-freeze' } })));
    expect(bursts.map((b) => b.failures)).toEqual([0, 0, 0]);
    expect(new Set(bursts.flatMap((b) => b.tokens)).size).toBe(1);
    expect(idp.perKey.get('after-freeze')).toBe(1);
  }, 60_000);

  it('CLIENT PAUSE 1500 during a cold load on 3 processes: one fetch, callers delayed about the pause, not a lock TTL', async () => {
    const ws = await fleet(100);
    await admin.client('PAUSE', 1_500);
    const bursts = await Promise.all(ws.map((w) => w.call<Burst>('burst', { callers: 50, params: { subject: 'paused' } })));
    expect(bursts.map((b) => b.failures)).toEqual([0, 0, 0]);
    expect(new Set(bursts.flatMap((b) => b.tokens)).size).toBe(1);
    expect(idp.perKey.get('paused')).toBe(1);
    const worst = Math.max(...bursts.map((b) => b.maxWaitMs));
    expect(worst).toBeGreaterThanOrEqual(1_200);
    expect(worst).toBeLessThan(1_500 + 100 + 1_500); // far below the lock TTL (10 s)
    expect(await locksLeft()).toBe(0);
  }, 60_000);
});
