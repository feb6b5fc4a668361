// Shared benchmark helpers: interleaved rounds so both sides see the same machine state, medians, ratio lines.
import { spawn } from 'node:child_process';

/** Runs `fn` (sync or async) `ops` times and returns ops/s. */
export async function opsPerSec(fn, ops, isAsync) {
  const start = process.hrtime.bigint();
  if (isAsync) for (let i = 0; i < ops; i++) await fn();
  else for (let i = 0; i < ops; i++) fn();
  const ns = Number(process.hrtime.bigint() - start);
  return (ops * 1e9) / ns;
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Measures `subject` against `baseline` in alternating rounds (after a warm-up) and returns
 * { subject, baseline, ratio } in ops/s, medians over the rounds.
 */
export async function compare({ subject, baseline, ops = 200_000, rounds = 9, isAsync = false }) {
  for (let i = 0; i < 2; i++) {
    await opsPerSec(subject, ops / 4, isAsync);
    await opsPerSec(baseline, ops / 4, isAsync);
  }
  const s = [];
  const b = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      s.push(await opsPerSec(subject, ops, isAsync));
      b.push(await opsPerSec(baseline, ops, isAsync));
    } else {
      b.push(await opsPerSec(baseline, ops, isAsync));
      s.push(await opsPerSec(subject, ops, isAsync));
    }
  }
  const subjectOps = median(s);
  const baselineOps = median(b);
  return { subject: subjectOps, baseline: baselineOps, ratio: subjectOps / baselineOps };
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');

/** Prints one result row and returns whether it met the target. */
export function report(name, { subject, baseline, ratio }, target) {
  const ok = ratio >= target;
  console.log(
    `${name.padEnd(44)} ${fmt(subject).padStart(12)} ops/s vs baseline ${fmt(baseline).padStart(12)} ops/s  ratio ${ratio.toFixed(3)}  target >= ${target}  ${ok ? 'PASS' : 'FAIL'}`,
  );
  return ok;
}

/** Prints one result row without a target. */
export function info(name, { subject, baseline, ratio }) {
  console.log(`${name.padEnd(44)} ${fmt(subject).padStart(12)} ops/s vs baseline ${fmt(baseline).padStart(12)} ops/s  ratio ${ratio.toFixed(3)}  (information)`);
}

export { fmt };

/**
 * Starts `source` (CommonJS, run with `node -e`) in a child process: an HTTP server that prints its port once it
 * listens and exits when its stdin ends. In its own process, the server's work never counts as the client's.
 * Returns `{ baseURL, stop() }`.
 */
export async function startServer(source) {
  const child = spawn(process.execPath, ['-e', source], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
  return {
    baseURL: `http://127.0.0.1:${port}`,
    stop: () => {
      child.stdin.end();
      child.kill();
    },
  };
}

/**
 * The source of a server for `startServer` that answers 200 (`{"ok":true}`) only to `Authorization: Bearer
 * <token>` and 401 to anything else, so a broken client can't look fast.
 */
export function bearerServerSource(token) {
  return `
  const { createServer } = require('node:http');
  const expected = 'Bearer ${token}';
  const body = JSON.stringify({ ok: true });
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.headers.authorization === expected) { res.writeHead(200, { 'content-type': 'application/json' }); res.end(body); }
      else { res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }); res.end(); }
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => console.log(server.address().port));
  process.stdin.on('end', () => process.exit(0)).resume();
  `;
}

/**
 * `n` calls of `request` (resolving with the HTTP status) with `concurrency` in flight; any status but 200 aborts
 * the run. Returns `{ rps, cpuUsPerRequest }` (requests per second, this process's CPU time per request).
 */
export async function httpRound(request, n, concurrency) {
  let next = 0;
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        const status = await request();
        if (status !== 200) throw new Error(`unexpected status ${status}`);
      }
    }),
  );
  const rps = (n * 1e9) / Number(process.hrtime.bigint() - start);
  const used = process.cpuUsage(cpu);
  return { rps, cpuUsPerRequest: (used.user + used.system) / n };
}

/** The round settings the HTTP benchmarks share (interceptor, fetch; dpop uses smaller rounds). */
export const HTTP_ROUNDS = { perRound: 1_500, concurrency: 16, minRounds: 9, maxRounds: 25, maxMeasureMs: 40_000 };

/** The heading of a paired HTTP comparison: what was sent, how many in flight, how many round pairs. */
export const roundsHeading = (what, run) =>
  `${what}, ${run.concurrency} in flight, ${run.rounds} interleaved round pairs of ${run.perRound}, ratio = median of pair ratios (higher ratio is better):`;

/**
 * HTTP `subject` against `baseline` (each a function making one request and resolving with its status): two
 * warm-up rounds each, then round pairs of `perRound` requests, back to back, the side going first alternating,
 * so load from other processes on a shared machine hits both sides of a pair alike; at least `minRounds`, then
 * more until `maxMeasureMs` of measuring or `maxRounds`. The ratio is the median of the pairs' ratios.
 * Settings default to `HTTP_ROUNDS`. Returns `{ concurrency, perRound, rounds, subjectRps, baselineRps, ratio, subjectCpuUs, baselineCpuUs, cpuRatio }` (medians).
 */
export async function pairedHttpRounds({ subject, baseline, ...settings }) {
  const { perRound, concurrency, minRounds, maxRounds, maxMeasureMs } = { ...HTTP_ROUNDS, ...settings };
  const round = (request, n) => httpRound(request, n, concurrency);
  for (let i = 0; i < 2; i++) {
    await round(subject, perRound / 2);
    await round(baseline, perRound / 2);
  }
  const s = [];
  const b = [];
  const measureStart = Date.now();
  for (let r = 0; r < maxRounds && (r < minRounds || Date.now() - measureStart < maxMeasureMs); r++) {
    if (r % 2 === 0) {
      s.push(await round(subject, perRound));
      b.push(await round(baseline, perRound));
    } else {
      b.push(await round(baseline, perRound));
      s.push(await round(subject, perRound));
    }
  }
  return {
    concurrency,
    perRound,
    rounds: s.length,
    subjectRps: median(s.map((x) => x.rps)),
    baselineRps: median(b.map((x) => x.rps)),
    ratio: median(s.map((x, i) => x.rps / b[i].rps)),
    subjectCpuUs: median(s.map((x) => x.cpuUsPerRequest)),
    baselineCpuUs: median(b.map((x) => x.cpuUsPerRequest)),
    cpuRatio: median(s.map((x, i) => x.cpuUsPerRequest / b[i].cpuUsPerRequest)),
  };
}
