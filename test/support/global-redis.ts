/**
 * Vitest globalSetup: a Redis of the suite's own, so `npm test` needs nothing running beforehand.
 *
 * - `TOKEN_CACHE_TEST_REDIS_URL` set: that Redis is used, and never stopped or flushed.
 * - else, with `redis-server` on the PATH: one is started on a free loopback port (no persistence, its files in
 *   a temporary directory, nothing in the working tree) and stopped after the run.
 * - else: the Redis suites are skipped, and the reason is printed once, at the end of the run; with
 *   `TOKEN_CACHE_REQUIRE_REDIS=1` (CI) the run fails at once instead.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SKIP_REASON_ENV = 'TOKEN_CACHE_TEST_REDIS_SKIP_REASON';

/** A free loopback port (free when asked: take it at once, and expect it may be gone). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function startRedis(port: number, dir: string): Promise<ChildProcess | undefined> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', ''],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir },
  );
  return new Promise((resolve) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ready to accept connections')) resolve(child);
    });
    child.once('exit', () => resolve(undefined));
    child.once('error', () => resolve(undefined));
  });
}

export default async function setup(): Promise<() => Promise<void>> {
  if (process.env.TOKEN_CACHE_TEST_REDIS_URL) return async () => undefined;
  const installed = spawnSync('redis-server', ['--version']).status === 0;
  if (!installed) {
    const reason =
      'redis-server is not on the PATH, so the suite could not start its own Redis. Install it (Debian/Ubuntu: ' +
      'apt-get install redis-server; macOS: brew install redis) or point TOKEN_CACHE_TEST_REDIS_URL at a Redis you run.';
    if (process.env.TOKEN_CACHE_REQUIRE_REDIS === '1') throw new Error(`Redis tests are mandatory (TOKEN_CACHE_REQUIRE_REDIS=1) but ${reason}`);
    process.env[SKIP_REASON_ENV] = reason;
    return async () => {
      // Teardown runs after the last test file: the one place the reason is printed.
      const line = '!'.repeat(100);
      console.warn(`\n${line}\n!!! Redis tests were SKIPPED: ${reason}\n${line}\n`);
    };
  }
  const redis = await startOwnRedis();
  process.env.TOKEN_CACHE_TEST_REDIS_URL = `redis://127.0.0.1:${redis.port}`;
  return redis.stop;
}

export interface OwnRedis {
  port: number;
  /** The ports tried, in order (a busy one makes redis-server exit, and the next is tried). */
  tried: number[];
  /** Stops this redis-server (and only it) and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts a redis-server of the suite's own on a free loopback port: no persistence, its files in a temporary
 * directory. A port taken between the check and the start (redis-server then exits: "Address already in use")
 * is never shared: the next free port is tried, up to 5 times. `pickPort` is for tests of that rule.
 */
export async function startOwnRedis(pickPort: () => Promise<number> = freePort): Promise<OwnRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'token-cache-test-redis-'));
  let child: ChildProcess | undefined;
  let port = 0;
  const tried: number[] = [];
  for (let attempt = 0; attempt < 5 && child === undefined; attempt++) {
    port = await pickPort();
    tried.push(port);
    child = await startRedis(port, dir);
  }
  if (child === undefined) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`Could not start redis-server on a free loopback port (tried ${tried.join(', ')})`);
  }
  const started = child;
  return {
    port,
    tried,
    stop: async () => {
      // Only the server this setup started: a Redis the developer runs is never touched.
      if (started.exitCode === null) {
        await new Promise<void>((resolve) => {
          started.once('exit', () => resolve());
          started.kill('SIGKILL');
        });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
