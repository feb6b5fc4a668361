/**
 * Redis for tests. `TOKEN_CACHE_TEST_REDIS_URL` is the suite's Redis: the one test/support/global-redis.ts
 * started on a free port, or yours when you set it. With no Redis at all (no `redis-server` on the PATH) the
 * Redis suites are skipped and the reason is printed once at the end of the run; `TOKEN_CACHE_REQUIRE_REDIS=1`
 * (CI) makes them fail instead. Tests that stop and restart Redis start a private `redis-server` of their own.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';

export const TEST_REDIS_URL = process.env.TOKEN_CACHE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

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
 * Whether the test Redis answers. False (the suite skips) only when the global setup found no `redis-server`
 * and no TOKEN_CACHE_TEST_REDIS_URL: it prints why at the end of the run. A Redis that was set up (or named)
 * but does not answer is an error, never a silent skip.
 */
export async function testRedisAvailable(suite: string): Promise<boolean> {
  if (process.env.TOKEN_CACHE_TEST_REDIS_SKIP_REASON && !process.env.TOKEN_CACHE_TEST_REDIS_URL) return false;
  if (await ping(TEST_REDIS_URL)) return true;
  throw new Error(`${suite}: Redis is not reachable at ${TEST_REDIS_URL} (TOKEN_CACHE_TEST_REDIS_URL).`);
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
    // No persistence, and its working directory in tmp: nothing is ever written into the repository.
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir()], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: tmpdir(),
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

  /** Sends a signal to the server process: `SIGSTOP` freezes it with its connections open, `SIGCONT` resumes it. */
  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
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
