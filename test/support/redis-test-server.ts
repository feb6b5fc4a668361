/**
 * Redis for tests. `TOKEN_CACHE_TEST_REDIS_URL` (default redis://127.0.0.1:6390) is the shared dev/CI server;
 * when it is unreachable the Redis tests fail if `TOKEN_CACHE_REQUIRE_REDIS=1` (CI), else they are skipped
 * with a loud message. Tests that stop and restart Redis start a private `redis-server` of their own.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

export const TEST_REDIS_URL = process.env.TOKEN_CACHE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6390';

const prefixesUsed: string[] = [];

/** A key prefix no other test (or engineer) uses, so that tests can look at "every key" safely. */
export function uniquePrefix(name = 't'): string {
  const prefix = `tc-test:${name}:${randomBytes(4).toString('hex')}:`;
  prefixesUsed.push(prefix);
  return prefix;
}

/** Deletes the keys under every prefix this test file made (the shared dev Redis stays tidy). */
export async function deleteTestKeys(url = TEST_REDIS_URL): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    for (const prefix of prefixesUsed.splice(0)) {
      const keys = await client.keys(`${prefix}*`);
      if (keys.length) await client.del(...keys);
    }
  } catch {
    // Best effort: the keys expire with their tokens anyway.
  } finally {
    client.disconnect();
  }
}

async function ping(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * Whether the test Redis answers. When it doesn't: throws under TOKEN_CACHE_REQUIRE_REDIS=1, else prints a
 * banner (so a skipped suite can't pass unnoticed) and returns false.
 */
export async function testRedisAvailable(suite: string): Promise<boolean> {
  if (await ping(TEST_REDIS_URL)) return true;
  const why = `Redis is not reachable at ${TEST_REDIS_URL} (set TOKEN_CACHE_TEST_REDIS_URL, or start one: redis-server --port 6390)`;
  if (process.env.TOKEN_CACHE_REQUIRE_REDIS === '1') throw new Error(`${suite}: ${why}, and TOKEN_CACHE_REQUIRE_REDIS=1 makes these tests mandatory.`);
  const line = '!'.repeat(100);
  console.warn(`\n${line}\n!!! SKIPPED: ${suite}\n!!! ${why}\n${line}\n`);
  return false;
}

/** Whether a `redis-server` binary is installed (needed by the stop/restart tests). */
export function redisServerInstalled(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A private redis-server (ports 6391+) that a test may stop and start again on the same port. */
export class PrivateRedisServer {
  private child?: ChildProcess;
  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<PrivateRedisServer> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const port = 6391 + Math.floor(Math.random() * 600);
      if (!(await portFree(port))) continue;
      const server = new PrivateRedisServer(port);
      if (await server.startProcess()) return server;
    }
    throw new Error('Could not start a private redis-server on a free port in 6391-6990');
  }

  /** Starts (again) on the same port; true once it accepts connections. */
  async startProcess(): Promise<boolean> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const ok = await new Promise<boolean>((resolve) => {
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('Ready to accept connections')) resolve(true);
      });
      child.once('exit', () => resolve(false));
      child.once('error', () => resolve(false));
    });
    if (!ok) this.child = undefined;
    return ok;
  }

  /** Stops it the hard way (SIGKILL), like a crash: nothing is saved. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null) return;
    this.child = undefined;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }
}
