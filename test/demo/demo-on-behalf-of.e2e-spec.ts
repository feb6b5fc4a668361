/**
 * The demo's on-behalf-of route: users sign in at the demo IdP, call the demo's `GET /me/orders` with their
 * own token, and the demo calls the orders API with a token exchanged for theirs (RFC 8693, at the token
 * endpoint found by discovery) through `forFeature({ subjectToken: 'incoming' })`. Two users: two exchanged
 * tokens, each reaching the API as its user. No bearer token: a typed 401 and nothing sent to the IdP.
 * The `npm start` banner's curl line works as printed. No reply holds a token.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemo, type Demo } from '../../apps/demo/src/demo.js';
import { DEMO_USERS } from '../../apps/demo/src/demo.config.js';
import { startBanner } from '../../apps/demo/src/banner.js';
import type { DemoState } from '../../apps/demo/src/app/demo-monitor.service.js';

let demo: Demo;
/** Every body the demo answered, scanned for tokens at the end. */
const bodies: string[] = [];
/** The user tokens the test signed in with: none may appear anywhere. */
const userTokens: string[] = [];

async function call(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${demo.url}${path}`, { headers });
  const text = await res.text();
  bodies.push(text);
  return { status: res.status, headers: res.headers, body: JSON.parse(text) as Record<string, any> };
}

async function signIn(user: string, password = DEMO_USERS[user]!): Promise<string> {
  const res = await fetch(`${demo.idpUrl}/demo/user-token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` },
  });
  expect(res.status).toBe(200);
  const token = await res.text();
  userTokens.push(token);
  return token;
}

const idpStats = () => demo.idp!.stats();
const exchanges = () => idpStats().counts.filter((c) => c.grant === 'token_exchange');

beforeAll(async () => {
  // 60 s tokens: nothing expires or refreshes ahead while the test runs, so the IdP's counts are exact.
  demo = await createDemo({ port: 0, apiPort: 0, idpPort: 0, ttlSeconds: 60, logger: false });
});

afterAll(async () => {
  await demo?.close();
});

describe('demo: on-behalf-of (RFC 8693 through forFeature({ subjectToken: "incoming" }))', () => {
  it('two users: two exchanged tokens, each reaching the orders API as its user; repeated calls are cache hits', async () => {
    const alice = await signIn('alice');
    const bob = await signIn('bob');
    const a = await call('/me/orders', { authorization: `Bearer ${alice}` });
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ user: 'alice', actingClient: 'demo-app' });
    const b = await call('/me/orders', { authorization: `Bearer ${bob}` });
    expect(b.status).toBe(200);
    expect(b.body).toMatchObject({ user: 'bob', actingClient: 'demo-app' });
    // Concurrent and repeated calls with one user's token share its one exchange.
    const again = await Promise.all(Array.from({ length: 10 }, (_, i) => call('/me/orders', { authorization: `Bearer ${i % 2 ? alice : bob}` })));
    expect(again.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(exchanges()).toEqual([
      { grant: 'token_exchange', client: 'alice', count: 1 },
      { grant: 'token_exchange', client: 'bob', count: 1 },
    ]);

    // The dashboard's data: one obo entry per user, labelled with the user, keyed by a digest of the user's token.
    const state = (await call('/demo/state')).body as DemoState;
    const obo = state.entries.filter((e) => e.source === 'obo');
    expect(obo.map((e) => [e.subject, e.audience, e.state]).sort()).toEqual([
      ['alice', 'orders-api', 'fresh'],
      ['bob', 'orders-api', 'fresh'],
    ]);
    for (const e of obo) expect(e.key).toMatch(/\|sbj=[\w-]{43}$/);
    expect(state.scenarios.obo).toMatchObject({ calls: 12, failures: 0 });
    expect(state.sources.obo).toMatchObject({ kind: 'token_exchange', fetched: 2, failed: 0 });
  });

  it('a new sign-in (a new user token) gets its own exchanged token; another user never gets it', async () => {
    const before = exchanges().find((c) => c.client === 'alice')!.count;
    const alice2 = await signIn('alice');
    expect((await call('/me/orders', { authorization: `Bearer ${alice2}` })).body.user).toBe('alice');
    expect(exchanges().find((c) => c.client === 'alice')!.count).toBe(before + 1);
  });

  it('no bearer token, another scheme, or a malformed one: a typed 401 naming what to send, and nothing sent to the IdP or the API', async () => {
    const idpBefore = idpStats().total;
    const apiBefore = demo.api!.stats().requests;
    for (const headers of [{} as Record<string, string>, { authorization: 'Basic YWxpY2U6cHc=' }, { authorization: 'Bearer' }, { authorization: 'Bearer a b' }]) {
      const res = await call('/me/orders', headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(res.body).toMatchObject({ error: 'no_bearer_token', scenario: 'obo' });
      expect(res.body.message).toMatch(/Authorization: Bearer/);
    }
    expect(idpStats().total).toBe(idpBefore);
    expect(demo.api!.stats().requests).toBe(apiBefore);
  });

  it('a token the IdP did not issue to the demo app is refused by the IdP (invalid_grant), typed, without echoing it', async () => {
    const forged = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"alice","exp":9999999999}').toString('base64url')}.c2ln`;
    userTokens.push(forged);
    const res = await call('/me/orders', { authorization: `Bearer ${forged}` });
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ error: 'upstream_failed', scenario: 'obo', name: 'TokenFetchError' });
    // What to fix: the subject token (not a refresh token) was rejected.
    expect(res.body.message).toMatch(/invalid_grant.*subject token .*was rejected \(RFC 8693\)/);
  });

  it('the dashboard buttons: listed with the scenarios, and each signs its user in and goes through /me/orders', async () => {
    const { body } = await call('/scenarios');
    const paths = (body.routes as { scenario: string; path: string }[]).filter((r) => r.scenario === 'on-behalf-of').map((r) => r.path);
    expect(paths).toEqual(['/on-behalf-of/alice', '/on-behalf-of/bob']);
    for (const user of ['alice', 'bob']) {
      const res = await call(`/on-behalf-of/${user}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ user, actingClient: 'demo-app', via: 'GET /me/orders' });
    }
    expect((await call('/on-behalf-of/mallory')).status).toBe(404);
  });

  it('the npm start banner prints a curl line that works as printed', async () => {
    const line = startBanner(demo).split('\n').find((l) => l.includes('/me/orders'))!;
    const command = line.replace(/^.*?Try on-behalf-of:\s*/, '');
    expect(command).toMatch(/^curl /);
    const { stdout } = await promisify(execFile)('bash', ['-c', command], { timeout: 15_000 });
    bodies.push(stdout);
    expect(JSON.parse(stdout)).toMatchObject({ user: 'alice', actingClient: 'demo-app' });
  });

  it('no reply, entry, event or health detail holds a user token or an exchanged token', async () => {
    bodies.push((await call('/demo/state')).body && JSON.stringify((await call('/demo/state')).body));
    bodies.push(JSON.stringify((await call('/health')).body));
    const all = bodies.join('\n');
    expect(all).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/);
    for (const token of userTokens) {
      expect(all).not.toContain(token);
      expect(all).not.toContain(token.split('.')[2]);
    }
  });
});
