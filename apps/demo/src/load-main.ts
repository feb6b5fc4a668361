/**
 * `npm run demo:load`: boots the demo in-process with short-lived tokens (or drives a running one with
 * --url) and prints the load table. Exits 1 when any request failed.
 *   --duration <s>     default 15 (DEMO_LOAD_DURATION_S)
 *   --concurrency <n>  default 32 (DEMO_LOAD_CONCURRENCY)
 *   --ttl <s>          token lifetime of the in-process demo, default 4 (DEMO_TOKEN_TTL_S)
 *   --url <url>        a running demo, e.g. http://127.0.0.1:3000 (DEMO_LOAD_URL)
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { formatLoadResult, runLoad } from './load.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string' },
    concurrency: { type: 'string' },
    ttl: { type: 'string' },
    url: { type: 'string' },
  },
});

function positive(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`${name} must be a positive number, got "${raw}"`);
    process.exit(2);
  }
  return n;
}

const durationS = positive('--duration', values.duration ?? process.env.DEMO_LOAD_DURATION_S);
const ttl = positive('--ttl', values.ttl ?? process.env.DEMO_TOKEN_TTL_S);
const url = values.url ?? process.env.DEMO_LOAD_URL;
console.log(url ? `Driving the demo at ${url}...` : 'Booting the demo in-process and driving it...');
const result = await runLoad({
  url,
  durationMs: durationS === undefined ? undefined : Math.round(durationS * 1000),
  concurrency: positive('--concurrency', values.concurrency ?? process.env.DEMO_LOAD_CONCURRENCY),
  ttlSeconds: ttl === undefined ? undefined : Math.round(ttl),
});
console.log(formatLoadResult(result));
process.exitCode = result.failed === 0 ? 0 : 1;
