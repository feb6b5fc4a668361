/**
 * The demo's load run: concurrent traffic through every scenario route across several token lifetimes and
 * one revocation, then a table of requests, failures, requests per second, token fetches per source and
 * hit rate. `runLoad()` is what `npm run demo:load` (load-main.ts) and the tests call.
 */
import { createDemo, type Demo } from './demo.js';
import type { DemoState } from './app/demo-monitor.service.js';

export interface LoadOptions {
  /** A running demo to drive; default: boot one in-process. */
  url?: string;
  /** How long to send traffic, in ms. Default 15_000. */
  durationMs?: number;
  /** Requests in flight at once. Default 32. */
  concurrency?: number;
  /** Token lifetime of the in-process demo, in s (ignored with `url`). Default 4. */
  ttlSeconds?: number;
  /** When to revoke every token, in ms from the start; default halfway. */
  revokeAtMs?: number;
}

export interface LoadRow {
  source: string;
  kind: string;
  requests: number;
  failed: number;
  /** Token fetches the cache made for the source (cold, expired, refresh-ahead, after a 401). */
  tokenFetches: number;
  /** Token requests the IdP served for the source's client (for token files: the sidecar's). */
  idpCalls: number;
}

export interface LoadResult {
  durationMs: number;
  concurrency: number;
  ttlSeconds: number;
  requests: number;
  failed: number;
  requestsPerSecond: number;
  hitRate: number;
  revocations: number;
  /** 401s the resource API answered (each one retried by the interceptor). */
  rejectedByApi: number;
  rows: LoadRow[];
  /** The first few failures, for diagnosis. */
  failures: string[];
}

interface Route {
  path: string;
  source: string;
}

/** Which cache source serves a scenario route. */
function sourceOfRoute(path: string): string {
  if (path.startsWith('/trading/')) return 'trading';
  if (path.startsWith('/music/')) return 'music';
  if (path.startsWith('/gateway/')) return 'gateway';
  const file = /^\/files\/([a-z]+)/.exec(path);
  return file ? `${file[1]}-file` : path;
}

/** Which IdP clients' token requests belong to a cache source. */
function idpCallsOf(source: string, idp: DemoState['idp']): number {
  const counts = idp?.counts ?? [];
  const sum = (pred: (c: { grant: string; client: string }) => boolean) => counts.filter(pred).reduce((n, c) => n + c.count, 0);
  if (source === 'trading') return sum((c) => c.grant === 'api_key_login');
  if (source === 'music') return sum((c) => c.client === 'music-app');
  if (source === 'gateway') return sum((c) => c.client === 'orders-service');
  if (source.endsWith('-file')) return sum((c) => c.client === 'warehouse-sidecar');
  return 0;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  return (await res.json()) as T;
}

export async function runLoad(options: LoadOptions = {}): Promise<LoadResult> {
  const durationMs = options.durationMs ?? 15_000;
  const concurrency = options.concurrency ?? 32;
  const revokeAtMs = options.revokeAtMs ?? Math.floor(durationMs / 2);
  let demo: Demo | undefined;
  if (options.url === undefined) {
    demo = await createDemo({ port: 0, apiPort: 0, idpPort: 0, ttlSeconds: options.ttlSeconds ?? 4, logger: false });
  }
  const base = (options.url ?? demo!.url).replace(/\/+$/, '');
  try {
    const { routes: listed } = await getJson<{ routes: { path: string }[] }>(`${base}/scenarios`);
    // The on-behalf-of routes are users' traffic (each signs a user in and calls this app back over HTTP), not
    // the service's own calls this run measures: left out of the mix (the dashboard's burst has them).
    const routes: Route[] = listed.filter((r) => !r.path.startsWith('/on-behalf-of/')).map((r) => ({ path: r.path, source: sourceOfRoute(r.path) }));
    const before = await getJson<DemoState>(`${base}/demo/state`);

    const perSource = new Map<string, { requests: number; failed: number }>();
    for (const r of routes) perSource.set(r.source, { requests: 0, failed: 0 });
    const failures: string[] = [];
    let next = 0;
    let revocations = 0;
    const started = performance.now();
    const deadline = started + durationMs;

    // A failed revocation is reported with the other failures; it never stops the run while workers still send.
    const revoker = (async () => {
      await new Promise((resolve) => setTimeout(resolve, revokeAtMs));
      if (performance.now() >= deadline) return;
      const res = await fetch(`${base}/demo/revoke`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new Error(`revocation failed: ${res.status}`);
      revocations++;
    })().catch((error: Error) => {
      failures.push(`revocation -> ${error.message}`);
    });

    const worker = async () => {
      while (performance.now() < deadline) {
        const route = routes[next++ % routes.length];
        const counts = perSource.get(route.source)!;
        counts.requests++;
        try {
          const res = await fetch(`${base}${route.path}`, { signal: AbortSignal.timeout(15_000) });
          const body = await res.text();
          if (res.status !== 200) {
            counts.failed++;
            if (failures.length < 5) failures.push(`${route.path} -> ${res.status} ${body.slice(0, 200)}`);
          }
        } catch (error) {
          counts.failed++;
          if (failures.length < 5) failures.push(`${route.path} -> ${(error as Error).message}`);
        }
      }
    };
    await Promise.all([...Array.from({ length: concurrency }, worker), revoker]);
    const elapsed = performance.now() - started;
    const after = await getJson<DemoState>(`${base}/demo/state`);

    const rows: LoadRow[] = [...perSource].map(([source, counts]) => {
      const a = after.sources[source];
      const b = before.sources[source];
      const fetches = (s: typeof a | undefined) => (s ? s.fetched + s.refreshed : 0);
      return {
        source,
        kind: a?.kind ?? '?',
        ...counts,
        tokenFetches: fetches(a) - fetches(b),
        idpCalls: idpCallsOf(source, after.idp) - idpCallsOf(source, before.idp),
      };
    });
    const hits = after.stats.hits - before.stats.hits;
    const misses = after.stats.misses - before.stats.misses;
    const requests = rows.reduce((n, r) => n + r.requests, 0);
    return {
      durationMs: Math.round(elapsed),
      concurrency,
      ttlSeconds: after.ttlSeconds,
      requests,
      failed: rows.reduce((n, r) => n + r.failed, 0),
      requestsPerSecond: Math.round((requests / elapsed) * 1000),
      hitRate: hits + misses === 0 ? 0 : hits / (hits + misses),
      revocations,
      rejectedByApi: (after.api?.rejected ?? 0) - (before.api?.rejected ?? 0),
      rows,
      failures,
    };
  } finally {
    await demo?.close();
  }
}

/** The result as the table `npm run demo:load` prints. */
export function formatLoadResult(r: LoadResult): string {
  const header = ['source', 'kind', 'requests', 'failed', 'token fetches', 'IdP calls'];
  const body = r.rows.map((row) => [row.source, row.kind, row.requests, row.failed, row.tokenFetches, row.source.endsWith('-file') ? `${row.idpCalls} (sidecar)` : row.idpCalls]);
  const total = ['total', '', r.requests, r.failed, r.rows.reduce((n, x) => n + x.tokenFetches, 0), ''];
  const cells = [header, ...body, total].map((line) => line.map(String));
  const widths = header.map((_, i) => Math.max(...cells.map((line) => line[i].length)));
  const fmt = (line: string[]) => `│ ${line.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' │ ')} │`;
  const rule = (l: string, m: string, rr: string) => `${l}${widths.map((w) => '─'.repeat(w + 2)).join(m)}${rr}`;
  const lifetimes = r.durationMs / 1000 / r.ttlSeconds;
  return [
    '',
    `nestjs-token-cache demo load: ${(r.durationMs / 1000).toFixed(1)} s, ${r.concurrency} concurrent, tokens live ${r.ttlSeconds} s (${lifetimes.toFixed(1)} lifetimes), ${r.revocations} revocation(s)`,
    '',
    rule('┌', '┬', '┐'),
    fmt(cells[0]),
    rule('├', '┼', '┤'),
    ...cells.slice(1, -1).map(fmt),
    rule('├', '┼', '┤'),
    fmt(cells[cells.length - 1]),
    rule('└', '┴', '┘'),
    '',
    `requests          ${r.requests}`,
    `failed requests   ${r.failed}`,
    `requests/s        ${r.requestsPerSecond}`,
    `cache hit rate    ${(r.hitRate * 100).toFixed(2)} %`,
    `API 401s          ${r.rejectedByApi} (revoked or expired tokens; the interceptor refetched and retried)`,
    ...(r.failures.length ? ['', 'first failures:', ...r.failures.map((f) => `  ${f}`)] : []),
    '',
  ].join('\n');
}
