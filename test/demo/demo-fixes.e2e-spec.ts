/**
 * Issue 12's demo fixes: the printed Resource API URL answers at `/`, the preload is no miss, a source whose
 * entries an admin DELETE removed is idle (not a red "expired") in /demo/state and /health, and with the
 * background caller on (as `npm start` runs it) tokens refresh ahead of expiry with nobody clicking.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createDemo, type Demo } from '../../apps/demo/src/demo.js';
import type { DemoState } from '../../apps/demo/src/app/demo-monitor.service.js';

let demo: Demo | undefined;
afterEach(async () => {
  await demo?.close();
  demo = undefined;
});

const json = async (url: string, init?: RequestInit) => {
  const res = await fetch(url, init);
  return { status: res.status, body: (await res.json()) as any };
};

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('demo fixes (issue 12)', () => {
  it('Resource API answers at /, the preload is no miss, and removed entries make a source idle, not expired', async () => {
    demo = await createDemo({ port: 0, apiPort: 0, idpPort: 0, ttlSeconds: 30, logger: false });
    const index = await json(`${demo.apiUrl}/`);
    expect(index.status).toBe(200);
    expect(index.body.routes).toContain('GET /gateway/orders');

    let state = (await json(`${demo.url}/demo/state`)).body as DemoState;
    expect(state.stats).toMatchObject({ misses: 0, hits: 0, hitRate: 0 });
    expect(state.stats.fetches).toBeGreaterThanOrEqual(1); // the gateway preload
    expect((await fetch(`${demo.url}/gateway/orders`)).status).toBe(200);
    state = (await json(`${demo.url}/demo/state`)).body as DemoState;
    expect(state.stats).toMatchObject({ misses: 0, hits: 1, hitRate: 1 });

    const removed = await json(`${demo.url}/token-cache/tokens?source=gateway`, { method: 'DELETE', headers: { 'x-admin-key': demo.adminKey } });
    expect(removed.body.removed).toBeGreaterThanOrEqual(1);
    state = (await json(`${demo.url}/demo/state`)).body as DemoState;
    expect((state.sources as any).gateway.status.state).toBe('idle');
    const health = await json(`${demo.url}/health`);
    expect(health.status).toBe(200);
    expect(health.body.info['token-cache'].sources.gateway.state).toBe('idle');
    expect(JSON.stringify(health.body)).not.toContain('"expired"');
  });

  it('with background calls on, tokens refresh ahead of expiry while nobody clicks', async () => {
    demo = await createDemo({ port: 0, apiPort: 0, idpPort: 0, ttlSeconds: 4, backgroundCallMs: 200, logger: false });
    await until(async () => ((await json(`${demo!.url}/demo/state`)).body as DemoState).stats.refreshesAhead >= 2, 20_000);
    const state = (await json(`${demo.url}/demo/state`)).body as DemoState;
    // Served from the cache while refreshing: the background caller never waited on an expired token.
    expect(state.entries.filter((e: { state: string }) => e.state === 'expired')).toEqual([]);
    expect(state.stats.hits).toBeGreaterThan(state.stats.misses);
  }, 30_000);
});
