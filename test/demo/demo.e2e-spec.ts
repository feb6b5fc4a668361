/**
 * The demo app end to end: its real IdP and resource API on loopback, every scenario route, /health, the
 * guarded admin endpoints, the revocation path (401 -> refetch -> retry), and no token in any reply.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemo, type Demo } from '../../apps/demo/src/demo.js';
import { DEMO_API_USERS, DEMO_CLIENTS, TOKEN_FILES, TRADING_BOTS } from '../../apps/demo/src/demo.config.js';
import type { DemoState } from '../../apps/demo/src/app/demo-monitor.service.js';

let demo: Demo;
/** Every body the demo answered, scanned for tokens and secrets at the end. */
const bodies: string[] = [];

async function call(path: string, init: RequestInit = {}): Promise<{ status: number; body: any; text: string; headers: Headers }> {
  const res = await fetch(`${demo.url}${path}`, init);
  const text = await res.text();
  bodies.push(text);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text, headers: res.headers };
}

const state = async () => (await call('/demo/state')).body as DemoState;

beforeAll(async () => {
  // 30 s tokens: nothing refreshes ahead (at 15 s) while the test runs, so IdP counts are exact.
  demo = await createDemo({ port: 0, apiPort: 0, idpPort: 0, ttlSeconds: 30, logger: false });
});

afterAll(async () => {
  await demo?.close();
});

describe('demo app', () => {
  it('answers every trading bot; bots of one API user on one API URL share one token', async () => {
    for (const { bot, user, venue } of TRADING_BOTS) {
      const { status, body } = await call(`/trading/${bot}/accounts`);
      expect(status).toBe(200);
      expect(body).toMatchObject({ bot, user, success: true, apiUrl: `${demo.apiUrl}/projectx/${venue}` });
      expect(body.accounts[0].name).toBe(`${user.toUpperCase()}-${venue.toUpperCase()}-50K`);
    }
    // alice on topstep and on alphaticks, bob on topstep: 3 logins for 5 bots.
    const logins = demo.idp!.stats().counts.filter((c) => c.grant === 'api_key_login');
    expect(logins).toEqual([
      { grant: 'api_key_login', client: 'alice', count: 2 },
      { grant: 'api_key_login', client: 'bob', count: 1 },
    ]);
    const trading = (await state()).entries.filter((e) => e.source === 'trading');
    expect(trading.map((e) => `${e.subject}@${e.audience}`).sort()).toEqual([
      `alice@${demo.apiUrl}/projectx/alphaticks`,
      `alice@${demo.apiUrl}/projectx/topstep`,
      `bob@${demo.apiUrl}/projectx/topstep`,
    ]);
    // A second round is served from the cache.
    for (const { bot } of TRADING_BOTS) expect((await call(`/trading/${bot}/accounts`)).status).toBe(200);
    expect(demo.idp!.stats().counts.filter((c) => c.grant === 'api_key_login').reduce((n, c) => n + c.count, 0)).toBe(3);
  });

  it('answers the music route on a rotating refresh-token grant', async () => {
    const { status, body } = await call('/music/now-playing');
    expect(status).toBe(200);
    expect(body).toMatchObject({ is_playing: true, listener: DEMO_CLIENTS.music.subject });
    expect(demo.idp!.countFor('music-app')).toBe(1);
    expect((await state()).musicRefreshTokenRotations).toBe(1);
  });

  it('answers the gateway route on client credentials (preloaded at bootstrap)', async () => {
    expect((await state()).entries.some((e) => e.source === 'gateway')).toBe(true);
    const { status, body } = await call('/gateway/orders');
    expect(status).toBe(200);
    expect(body.client).toBe(DEMO_CLIENTS.gateway.clientId);
    expect(demo.idp!.countFor(DEMO_CLIENTS.gateway.clientId)).toBe(1);
  });

  it('answers the inventory route through @nestjs/axios HttpService with the same gateway token', async () => {
    const { status, body } = await call('/gateway/inventory');
    expect(status).toBe(200);
    expect(body).toMatchObject({ client: DEMO_CLIENTS.gateway.clientId, items: [{ sku: 'TC-001' }, { sku: 'TC-002' }] });
    expect(demo.idp!.countFor(DEMO_CLIENTS.gateway.clientId)).toBe(1);
  });

  it('answers the token-file routes and follows a rewritten file', async () => {
    for (const file of TOKEN_FILES) {
      const { status, body } = await call(`/files/${file.name}`);
      expect(status).toBe(200);
      expect(body).toMatchObject({ report: file.name, client: DEMO_CLIENTS.sidecar.clientId });
    }
    expect((await call('/files/nope')).status).toBe(404);
    const before = (await state()).sources['reports-file'];
    await call('/demo/rotate-files', { method: 'POST' });
    // The watcher (50 ms debounce) replaces the entry without any request asking for it.
    await expect.poll(async () => (await state()).sources['reports-file'].refreshed, { timeout: 5_000 }).toBeGreaterThan(before.refreshed);
    expect((await call('/files/reports')).status).toBe(200);
  });

  it('reports health through terminus with every source', async () => {
    expect((await call('/on-behalf-of/alice')).status).toBe(200); // the on-behalf-of source, used once
    const { status, body } = await call('/health');
    expect(status).toBe(200);
    expect(body.status).toBe('ok');
    const details = body.details['token-cache'];
    expect(details.status).toBe('up');
    expect(details.store).toEqual({ type: 'memory', reachable: true });
    expect(Object.keys(details.sources).sort()).toEqual(['billing-file', 'gateway', 'music', 'obo', 'reports-file', 'trading']);
    for (const s of Object.values(details.sources) as { state: string; consecutiveFailures: number }[]) {
      expect(s.state).toBe('valid');
      expect(s.consecutiveFailures).toBe(0);
    }
  });

  it('guards the admin endpoints with the x-admin-key header', async () => {
    expect((await call('/token-cache/status')).status).toBe(401);
    expect((await call('/token-cache/status', { headers: { 'x-admin-key': 'wrong' } })).status).toBe(401);
    const { status, body } = await call('/token-cache/status', { headers: { 'x-admin-key': demo.adminKey } });
    expect(status).toBe(200);
    expect(body.stats.size).toBeGreaterThanOrEqual(7);
    expect(body.entries.map((e: { source: string }) => e.source)).toContain('music');

    expect((await call('/token-cache/tokens?source=music', { method: 'DELETE' })).status).toBe(401);
    const removal = await call('/token-cache/tokens?source=music', { method: 'DELETE', headers: { 'x-admin-key': demo.adminKey } });
    expect(removal.body).toEqual({ removed: 1 });
    expect((await state()).entries.some((e) => e.source === 'music')).toBe(false);
  });

  it('survives a revocation: 401 -> invalidate -> one new token -> retry, invisible to the caller', async () => {
    const idpBefore = demo.idp!.countFor(DEMO_CLIENTS.gateway.clientId);
    const rejectedBefore = demo.api!.stats().rejected;
    expect((await call('/demo/revoke', { method: 'POST' })).status).toBe(200);

    const { status, body } = await call('/gateway/orders');
    expect(status).toBe(200);
    expect(body.client).toBe(DEMO_CLIENTS.gateway.clientId);
    expect(demo.idp!.countFor(DEMO_CLIENTS.gateway.clientId)).toBe(idpBefore + 1);
    expect(demo.api!.stats().rejected).toBe(rejectedBefore + 1);

    // Every other scenario recovers the same way; the token files were rewritten before the cut-off.
    for (const path of ['/trading/alice-scalper/accounts', '/music/now-playing', '/files/billing']) {
      expect((await call(path)).status).toBe(200);
    }
    const s = await state();
    expect(s.revocations).toBe(1);
    expect(s.sources.gateway.invalidated).toBeGreaterThanOrEqual(1);
    expect(s.scenarios.gateway.failures).toBe(0);
  });

  it('serves the dashboard page and streams cache events', async () => {
    const { status, text, headers } = await call('/');
    expect(status).toBe(200);
    expect(headers.get('content-type')).toContain('text/html');
    expect(text).toContain('/demo/events');

    const controller = new AbortController();
    const res = await fetch(`${demo.url}/demo/events`, { signal: controller.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    await call('/demo/revoke', { method: 'POST' });
    await call('/gateway/orders');
    let seen = '';
    while (!seen.includes('"invalidated"')) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    controller.abort();
    bodies.push(seen);
    expect(seen).toContain('"source":"gateway"');
  });

  it('never shows a token or a secret in any reply', async () => {
    const secrets = [
      ...Object.values(DEMO_API_USERS),
      ...Object.values(DEMO_CLIENTS).map((c) => c.clientSecret),
      ...(await Promise.all(TOKEN_FILES.map(async (f) => (await readFile(join(demo.tokenDir, f.file), 'utf8')).trim()))),
    ];
    // The raw file content for the json one: its access_token.
    secrets.push(JSON.parse(secrets.at(-1)!).access_token);
    const state = await call('/demo/state');
    const all = [...bodies, state.text].join('\n');
    expect(all.length).toBeGreaterThan(1000);
    for (const secret of secrets) expect(all).not.toContain(secret);
    // No JWT of any kind (header.payload.signature starting with {"): tokens never leave the cache.
    expect(all).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/);
  });
});

describe('demo shutdown', () => {
  it('close() ends open event streams and stops the app, API and IdP promptly', async () => {
    const other = await createDemo({ port: 0, apiPort: 0, idpPort: 0, ttlSeconds: 30, logger: false });
    const res = await fetch(`${other.url}/demo/events`);
    const reader = res.body!.getReader();
    const started = performance.now();
    await other.close();
    expect(performance.now() - started).toBeLessThan(3_000);
    // The dashboard's stream is over (ended, or its socket closed) instead of holding the server open.
    const drained = (async () => {
      while (!(await reader.read()).done);
    })();
    await drained.catch((error: Error) => expect(error.message).toBe('terminated'));
    for (const url of [other.url, other.apiUrl, other.idpUrl]) {
      await expect(fetch(`${url}/`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
    }
  });
});
