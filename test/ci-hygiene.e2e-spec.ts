/**
 * What `npm test` (and `.ci/run`, which runs it) does to the machine: a Redis it did not start stays up with its
 * data, the suite's own Redis never takes a busy port, and nothing is written into the working tree.
 *
 * A "foreign" Redis (a developer's own) is started on the port the old CI used, 6379 (or a fixed neighbour when
 * 6379 is taken on this machine); then a nested `vitest run` of a few specs that used to leave files behind (the
 * Redis ones: `dump.rdb`; the pack one: a `.tgz`) runs with a fresh environment, its global set-up and teardown
 * included, as `npm test` runs them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startOwnRedis } from './support/global-redis.js';
import { redisServerInstalled } from './support/redis-test-server.js';

const root = fileURLToPath(new URL('..', import.meta.url));
/** 6379 is where the old CI started (and stopped) its Redis; the others (outside the 6391+ of private test servers) only if a Redis of this machine has it. */
const FOREIGN_PORTS = [6379, 6380, 6381];
/** Specs that once wrote into the working tree (dump.rdb of a Redis, a packed .tgz). */
const NESTED_SPECS = ['test/redis/redis-nest.e2e-spec.ts', 'test/redis/dpop-redis.e2e-spec.ts', 'test/pack-fresh-clone.e2e-spec.ts'];
const FOREIGN_KEY = 'developer:own-data';
const FOREIGN_VALUE = 'kept across npm test';

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `git status` including ignored files: a new file anywhere (ignored or not) changes it. */
const treeStatus = () => spawnSync('git', ['status', '--porcelain', '--ignored'], { cwd: root, encoding: 'utf8' }).stdout;

interface ForeignState {
  runId: string;
  connectionsReceived: number;
  value: string | null;
  keys: number;
}

async function foreignState(port: number): Promise<ForeignState> {
  const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const info = await client.info();
    const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim() ?? '';
    return { runId: field('run_id'), connectionsReceived: Number(field('total_connections_received')), value: await client.get(FOREIGN_KEY), keys: await client.dbsize() };
  } finally {
    client.disconnect();
  }
}

describe.runIf(redisServerInstalled())('npm test leaves the machine as it found it', () => {
  let foreignPort = 0;
  let foreign: ChildProcess;
  let foreignDir: string;
  let before: ForeignState;

  beforeAll(async () => {
    for (const port of FOREIGN_PORTS) {
      if (await portFree(port)) {
        foreignPort = port;
        break;
      }
    }
    if (foreignPort === 0) throw new Error(`ports ${FOREIGN_PORTS.join(', ')} are all taken: free one to run this test`);
    foreignDir = mkdtempSync(join(tmpdir(), 'token-cache-foreign-redis-'));
    foreign = spawn('redis-server', ['--port', String(foreignPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', foreignDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      foreign.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('Ready to accept connections')) resolve();
      });
      foreign.once('exit', (code) => reject(new Error(`the foreign redis-server exited (${code}):\n${out}`)));
    });
    const client = new Redis({ host: '127.0.0.1', port: foreignPort, maxRetriesPerRequest: 0 });
    await client.set(FOREIGN_KEY, FOREIGN_VALUE);
    await client.quit();
    before = await foreignState(foreignPort);
  }, 60_000);

  afterAll(async () => {
    if (foreign && foreign.exitCode === null) {
      const exited = new Promise((resolve) => foreign.once('exit', resolve));
      foreign.kill('SIGTERM');
      await exited;
    }
    if (foreignDir) rmSync(foreignDir, { recursive: true, force: true });
  });

  it('a run of the Redis and pack specs (global set-up and teardown included) passes, never connects to the foreign Redis, and writes nothing into the working tree', () => {
    const statusBefore = treeStatus();
    const out = mkdtempSync(join(tmpdir(), 'token-cache-nested-run-'));
    try {
      // A fresh environment, as `npm test` in a terminal has it: no Redis URL from this run's own set-up.
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && !k.startsWith('TOKEN_CACHE_TEST_REDIS')));
      const vitest = join(root, 'node_modules/vitest/vitest.mjs');
      const report = join(out, 'report.json');
      const result = spawnSync(process.execPath, [vitest, 'run', '--project', 'default', '--reporter=json', `--outputFile=${report}`, ...NESTED_SPECS], {
        cwd: root,
        env: { ...env, TOKEN_CACHE_REQUIRE_REDIS: '1' },
        encoding: 'utf8',
        timeout: 540_000,
        maxBuffer: 64 * 1024 * 1024,
      });
      const output = `${result.stdout}\n${result.stderr}`;
      const summary = JSON.parse(readFileSync(report, 'utf8')) as {
        numFailedTests: number;
        numPendingTests: number;
        numPassedTests: number;
        testResults: { name: string; assertionResults: { fullName: string; status: string; failureMessages: string[] }[] }[];
      };
      const failures = summary.testResults.flatMap((f) =>
        f.assertionResults.filter((t) => t.status === 'failed').map((t) => `${f.name.slice(root.length)} > ${t.fullName}: ${t.failureMessages.join('\n').slice(0, 800)}`),
      );
      expect({ status: result.status, failed: summary.numFailedTests, skipped: summary.numPendingTests }, `${failures.join('\n\n')}\n${output.slice(-2000)}`).toEqual({ status: 0, failed: 0, skipped: 0 });
      // Every spec ran its tests (a Redis spec with no Redis would be skipped, and fail the line above).
      expect(summary.testResults.filter((f) => f.assertionResults.length > 0).map((f) => f.name.slice(root.length)).sort()).toEqual([...NESTED_SPECS].sort());
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    expect(treeStatus()).toBe(statusBefore);
  }, 600_000);

  it('the foreign Redis is still up, the same process, with its data, and was not connected to by the run', async () => {
    const after = await foreignState(foreignPort);
    expect(foreign.exitCode).toBeNull();
    expect(after).toEqual({ ...before, connectionsReceived: before.connectionsReceived + 1 }); // + this look only
  });

  it("the suite's own Redis never binds to a busy port: a port taken after the check is skipped, and only its own server is stopped", async () => {
    const ports = [foreignPort];
    const own = await startOwnRedis(async () => ports.shift() ?? (await freePort()));
    try {
      expect(own.tried[0]).toBe(foreignPort);
      expect(own.port).not.toBe(foreignPort);
      const probe = new Redis({ host: '127.0.0.1', port: own.port, maxRetriesPerRequest: 0 });
      expect(await probe.get(FOREIGN_KEY)).toBeNull(); // an empty Redis of its own
      await probe.quit();
    } finally {
      await own.stop();
    }
    const after = await foreignState(foreignPort);
    expect({ runId: after.runId, value: after.value, keys: after.keys }).toEqual({ runId: before.runId, value: FOREIGN_VALUE, keys: before.keys });
  }, 60_000);

  it('.ci/run starts and stops no Redis itself (the suite does, on a free port)', () => {
    const commands = readFileSync(join(root, '.ci/run'), 'utf8')
      .split('\n')
      .filter((line) => !line.trim().startsWith('#'));
    expect(commands.filter((line) => /redis-cli|redis-server\s+-|shutdown|\bkill(all)?\b|pkill|flushall/i.test(line))).toEqual([]);
  });
});

/**
 * Whether `version` (`20.20.2`) is in an npm `engines.node` range, in the forms lockfiles hold: clauses joined by
 * `||`, each one or more of `>=`, `>`, `<=`, `<`, `=`, `^`, `~` with a (partial, `x`) version, or a bare one
 * (`20`, `18.x`). Anything else throws, so that a range this cannot read never passes unread.
 */
function inEngineRange(version: string, range: string): boolean {
  const v = version.split('.').map(Number) as [number, number, number];
  const cmp = (p: number[]) => {
    for (let i = 0; i < 3; i++) if ((v[i] ?? 0) !== (p[i] ?? 0)) return (v[i] ?? 0) - (p[i] ?? 0);
    return 0;
  };
  return range.split('||').some((clause) =>
    clause
      .trim()
      .replace(/([<>]=?|[=^~])\s+/g, '$1')
      .split(/\s+/)
      .every((comparator) => {
        const m = /^([<>]=?|[=^~])?v?(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?$/.exec(comparator);
        if (!m) throw new Error(`engines range "${range}": cannot read "${comparator}"`);
        const parts = [m[2], m[3], m[4]].filter((p) => p !== undefined && p !== 'x' && p !== '*').map(Number);
        switch (m[1]) {
          case '>=': return cmp(parts) >= 0;
          case '>': return cmp(parts) > 0;
          case '<=': return cmp(parts) <= 0;
          case '<': return cmp(parts) < 0;
          case '^': return cmp(parts) >= 0 && v[0] === parts[0];
          case '~': return cmp(parts) >= 0 && v[0] === parts[0] && (parts.length < 2 || v[1] === parts[1]);
          default: return parts.every((p, i) => v[i] === p); // `=`, or a bare (partial) version
        }
      }),
  );
}

describe('the Node.js versions the README names are the ones CI runs, and install without engine warnings', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const ciNode = /CI runs on \*\*Node\.js (\d+\.\d+\.\d+)\*\*/.exec(readme)?.[1];
  const jestNode = /Jest example of the CommonJS consumer app runs on \*\*Node\.js (\d+\.\d+\.\d+)\*\*/.exec(readme)?.[1];

  it('names the Node.js of CI (which .ci/run enforces) and the Node.js the Jest example runs on', () => {
    expect(ciNode).toBeDefined();
    expect(readFileSync(join(root, '.ci/run'), 'utf8')).toContain("CI runs on \\*\\*Node\\.js \\([0-9.]*\\)\\*\\*");
    expect(readFileSync(join(root, 'test/consumer-apps.e2e-spec.ts'), 'utf8')).toContain(`const NODE24_VERSION = '${jestNode}';`);
    expect(readFileSync(join(root, 'libs/token-cache/README.md'), 'utf8')).toContain(`CI runs the tests on Node.js ${ciNode}, and the Jest example of a CommonJS app on Node.js ${jestNode}`);
  });

  it('both are in the engines range of every package of the lockfile (npm ci warns of none) and of the package', () => {
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { engines?: { node?: string } | string[] }> };
    const ranges = Object.entries(lock.packages).flatMap(([name, p]) => (p.engines && !Array.isArray(p.engines) && p.engines.node ? [[name || '(root)', p.engines.node] as const] : []));
    expect(ranges.length).toBeGreaterThan(50);
    for (const version of [ciNode!, jestNode!]) {
      expect(ranges.filter(([, range]) => !inEngineRange(version, range)).map(([name, range]) => `${name}: ${range}`), `Node.js ${version}`).toEqual([]);
    }
  });

  it('reads engines ranges as npm does', () => {
    expect(inEngineRange('20.20.2', '^20.19.0 || >=22.12.0')).toBe(true);
    expect(inEngineRange('20.18.1', '^20.19.0 || >=22.12.0')).toBe(false);
    expect(inEngineRange('22.11.0', '^20.19.0 || >=22.12.0')).toBe(false);
    expect(inEngineRange('24.22.3', '^20.19.0 || >=22.12.0')).toBe(true);
    expect(inEngineRange('20.20.2', '>=22')).toBe(false);
    expect(inEngineRange('20.20.2', '>= 18.0.0')).toBe(true);
    expect(inEngineRange('20.20.2', '20 || >=22')).toBe(true);
    expect(inEngineRange('21.0.0', '20 || >=22')).toBe(false);
    expect(inEngineRange('20.20.2', '>=18.x')).toBe(true);
    expect(inEngineRange('20.20.2', '^18.19.0 || >=20.6.0')).toBe(true);
    expect(inEngineRange('19.0.0', '^10 || ^12 || >=14')).toBe(true);
    expect(inEngineRange('13.0.0', '^10 || ^12 || >=14')).toBe(false);
    expect(inEngineRange('20.20.2', '>=14.17')).toBe(true);
    expect(() => inEngineRange('20.20.2', 'latest')).toThrow(/cannot read/);
  });
});
