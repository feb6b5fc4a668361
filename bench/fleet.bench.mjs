// The fleet: 4 processes x 100 callers on one Redis (started here, on a free port) across 10 token lifetimes.
// Targets: one token fetch per token lifetime for the whole fleet (no more than one instance alone would make, none
// within half a lifetime of another), 0 failed calls, no caller waiting on the IdP after the first lifetime.
import { fork, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PROCESSES = 4;
const CALLERS = 100;
const LIFETIMES = Number(process.env.LIFETIMES ?? 10);
const LIFETIME_MS = 5_000;
const IDP_DELAY_MS = 50;

if (spawnSync('redis-server', ['--version']).status !== 0) {
  console.log('SKIP: redis-server is not installed. Nothing measured.');
  process.exit(0);
}

const freePort = () =>
  new Promise((resolve) => {
    const server = createTcpServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

// A private Redis: no persistence, its files in a temp dir.
const dir = mkdtempSync(join(tmpdir(), 'tc-fleet-bench-'));
const redisPort = await freePort();
const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] });
await new Promise((resolve, reject) => {
  let out = '';
  redis.stdout.on('data', (c) => (out += c) && out.includes('Ready to accept connections') && resolve());
  redis.once('exit', () => reject(new Error('redis-server exited')));
});

// The IdP: counts every token request and when it came.
const fetchTimes = [];
let n = 0;
const idp = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    fetchTimes.push(Date.now());
    setTimeout(() => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ access_token: `fleet-${++n}-${randomBytes(6).toString('hex')}`, token_type: 'Bearer', expires_in: LIFETIME_MS / 1000 }));
    }, IDP_DELAY_MS);
  });
});
await new Promise((resolve) => idp.listen(0, '127.0.0.1', resolve));

const env = {
  ...process.env,
  REDIS_URL: `redis://127.0.0.1:${redisPort}`,
  KEY_PREFIX: `tc-fleet:${randomBytes(4).toString('hex')}:`,
  TOKEN_URL: `http://127.0.0.1:${idp.address().port}/token`,
  CALLERS: String(CALLERS),
  LIFETIME_MS: String(LIFETIME_MS),
};
const workerScript = fileURLToPath(new URL('./fleet-worker.mjs', import.meta.url));
const workers = await Promise.all(
  Array.from({ length: PROCESSES }, async () => {
    const child = fork(workerScript, [], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const ready = await new Promise((resolve) => child.once('message', (m) => resolve(m.ready)));
    if (!ready) throw new Error('a fleet worker could not reach Redis');
    return child;
  }),
);

const durationMs = LIFETIMES * LIFETIME_MS;
const startAt = Date.now() + 200;
const results = await Promise.all(
  workers.map(
    (child) =>
      new Promise((resolve) => {
        child.once('message', (m) => resolve(m.result));
        child.send({ cmd: 'run', startAt, durationMs });
      }),
  ),
);
for (const child of workers) child.send({ cmd: 'close' });
await Promise.all(workers.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)))));
idp.close();
redis.kill('SIGKILL');
rmSync(dir, { recursive: true, force: true });

const fetches = fetchTimes.filter((t) => t >= startAt && t <= startAt + durationMs).length;
const gaps = fetchTimes.slice(1).map((t, i) => t - fetchTimes[i]);
const duplicates = gaps.filter((gap) => gap < LIFETIME_MS / 2).length;
const calls = results.reduce((s, r) => s + r.calls, 0);
const failures = results.reduce((s, r) => s + r.failures, 0);
const missesAfterFirst = results.reduce((s, r) => s + r.missesAfterFirst, 0);
const worstWait = Math.max(...results.map((r) => r.worstWaitAfterFirst));
const perLifetime = fetches / LIFETIMES;

let ok = true;
const line = (name, value, target, pass) => {
  ok &&= pass;
  console.log(`${name.padEnd(58)} ${String(value).padStart(10)}  target ${target.padEnd(8)} ${pass ? 'PASS' : 'FAIL'}`);
};
console.log(`${PROCESSES} processes x ${CALLERS} callers, one Redis, ${LIFETIMES} token lifetimes of ${LIFETIME_MS} ms (IdP answers in ${IDP_DELAY_MS} ms):`);
console.log(`${'calls'.padEnd(58)} ${String(calls).padStart(10)}`);
// Refresh-ahead from 0.75 L (see fleet-worker.mjs): one instance alone fetches 1 / 0.75 = 1.33 times per lifetime at most.
line('token fetches, whole fleet, per token lifetime (one instance: <= 1.33)', perLifetime.toFixed(2), '<= 1.34', perLifetime <= 1.34 && fetches >= LIFETIMES);
line('fetches within half a lifetime of another (a second fetch)', duplicates, '0', duplicates === 0);
line('failed calls', failures, '0', failures === 0);
line('calls that waited for a fetch after the first lifetime', missesAfterFirst, '0', missesAfterFirst === 0);
console.log(`${'worst caller wait after the first lifetime (ms, information)'.padEnd(58)} ${String(worstWait).padStart(10)}`);
if (failures) console.log('first errors:', results.flatMap((r) => r.errors).slice(0, 3));
process.exitCode = ok ? 0 : 1;
