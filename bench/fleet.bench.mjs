// The fleet: 4 processes x 100 callers on one Redis (started here, on a free port) across 10 token lifetimes, and
// side by side, in the same run, one process x 100 callers alone (same options, its own keys, its own IdP).
// Targets: the whole fleet makes the token fetches the lone instance makes (equal within one fetch: "one fetch per
// lifetime for the fleet" as refresh-ahead means it), no fetch within half a lifetime of another, 0 failed calls,
// no caller waiting on the IdP after the first lifetime.
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

// An IdP: counts every token request and when it came. One for the fleet, one for the lone instance.
async function startIdp() {
  const times = [];
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      // A worker warming up before the run (fleet-worker.mjs): not counted.
      if (req.url !== '/warm') times.push(Date.now());
      setTimeout(() => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ access_token: `fleet-${++n}-${randomBytes(6).toString('hex')}`, token_type: 'Bearer', expires_in: LIFETIME_MS / 1000 }));
      }, IDP_DELAY_MS);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { times, url: `http://127.0.0.1:${server.address().port}/token`, close: () => server.close() };
}
const fleetIdp = await startIdp();
const loneIdp = await startIdp();

const workerScript = fileURLToPath(new URL('./fleet-worker.mjs', import.meta.url));
// Same options, same Redis, same IdP delay, same callers per process; only the key prefix (and IdP) differ.
const envFor = (idp) => ({
  ...process.env,
  REDIS_URL: `redis://127.0.0.1:${redisPort}`,
  KEY_PREFIX: `tc-fleet:${randomBytes(4).toString('hex')}:`,
  TOKEN_URL: idp.url,
  CALLERS: String(CALLERS),
  LIFETIME_MS: String(LIFETIME_MS),
});
const startWorker = async (env) => {
  const child = fork(workerScript, [], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise((resolve) => {
    child.once('message', (m) => resolve(m.ready));
    child.once('exit', () => resolve(false)); // a worker that died at start (a bad option) fails the run instead of hanging it
  });
  if (!ready) throw new Error('a fleet worker could not reach Redis');
  return child;
};
const fleetEnv = envFor(fleetIdp);
const fleetWorkers = await Promise.all(Array.from({ length: PROCESSES }, () => startWorker(fleetEnv)));
const loneWorker = await startWorker(envFor(loneIdp));
const workers = [...fleetWorkers, loneWorker];

const durationMs = LIFETIMES * LIFETIME_MS;
const startAt = Date.now() + 200;
const allResults = await Promise.all(
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
fleetIdp.close();
loneIdp.close();
redis.kill('SIGKILL');
rmSync(dir, { recursive: true, force: true });

const inRun = (times) => times.filter((t) => t >= startAt && t <= startAt + durationMs);
const secondFetches = (times) => times.slice(1).filter((t, i) => t - times[i] < LIFETIME_MS / 2).length;
const fetches = inRun(fleetIdp.times).length;
const lone = inRun(loneIdp.times).length;
const duplicates = secondFetches(fleetIdp.times);
const results = allResults.slice(0, PROCESSES);
const loneResult = allResults[PROCESSES];
const calls = results.reduce((s, r) => s + r.calls, 0);
const failures = results.reduce((s, r) => s + r.failures, 0);
const missesAfterFirst = results.reduce((s, r) => s + r.missesAfterFirst, 0);
const worstWait = Math.max(...results.map((r) => r.worstWaitAfterFirst));

let ok = true;
const line = (name, value, target, pass) => {
  ok &&= pass;
  console.log(`${name.padEnd(64)} ${String(value).padStart(10)}  target ${target.padEnd(10)} ${pass ? 'PASS' : 'FAIL'}`);
};
const info = (name, value) => console.log(`${name.padEnd(64)} ${String(value).padStart(10)}`);
console.log(`${PROCESSES} processes x ${CALLERS} callers on one Redis, and side by side 1 process x ${CALLERS} callers alone (its own keys),`);
console.log(`same options, ${LIFETIMES} token lifetimes of ${LIFETIME_MS} ms (IdP answers in ${IDP_DELAY_MS} ms):`);
info('calls, whole fleet', calls);
info('calls, lone instance', loneResult.calls);
// Refresh-ahead makes a lone instance fetch a little more than once per lifetime (see fleet-worker.mjs); the
// fleet's target is to cost the IdP what that one instance costs it, not one fetch per instance.
info('token fetches per lifetime, lone instance', (lone / LIFETIMES).toFixed(2));
info('token fetches per lifetime, whole fleet of 4', (fetches / LIFETIMES).toFixed(2));
line('token fetches: whole fleet vs lone instance (fetches)', `${fetches} vs ${lone}`, '+-1', Math.abs(fetches - lone) <= 1 && lone >= LIFETIMES);
line('token fetches: whole fleet / lone instance (ratio)', (fetches / lone).toFixed(2), '1.00', Math.abs(fetches - lone) <= 1);
line('fetches within half a lifetime of another (a second fetch)', duplicates, '0', duplicates === 0);
line('failed calls, whole fleet', failures, '0', failures === 0);
line('calls that waited for a fetch after the first lifetime, fleet', missesAfterFirst, '0', missesAfterFirst === 0);
info('worst caller wait after the first lifetime (ms), fleet', worstWait);
info('failed calls / waits after the first lifetime, lone instance', `${loneResult.failures} / ${loneResult.missesAfterFirst}`);
if (failures) console.log('first errors:', results.flatMap((r) => r.errors).slice(0, 3));
process.exitCode = ok ? 0 : 1;
