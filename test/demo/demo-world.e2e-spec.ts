/**
 * The demo's outside world on its own: the IdP is strict the way real ones are (secrets, rotating refresh
 * tokens, API-key login) and the resource API refuses every token it should, the way the interceptor expects.
 */
import { SignJWT, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoIdp } from '../../apps/demo/src/world/demo-idp.js';
import { ResourceApi } from '../../apps/demo/src/world/resource-api.js';

let idp: DemoIdp;
let api: ResourceApi;
/** Added to the resource API's clock. */
let skewMs = 0;

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function token(form: Record<string, string>, auth = basic('svc', 'svc-secret')) {
  const res = await fetch(idp.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const orders = (accessToken: string) => fetch(`${api.url}/gateway/orders`, { headers: { authorization: `Bearer ${accessToken}` } });

beforeAll(async () => {
  idp = await DemoIdp.start({
    ttlSeconds: 3,
    clients: { svc: { secret: 'svc-secret', audience: 'orders-api' }, 'music-app': { secret: 'm-secret' } },
    apiUsers: { alice: 'alice-key' },
  });
  api = await ResourceApi.start({ idp, now: () => Date.now() + skewMs });
});

afterAll(async () => {
  await api?.close();
  await idp?.close();
});

describe('demo IdP', () => {
  it('issues short-lived client-credentials tokens whose expires_in never outlives the JWT exp', async () => {
    const { status, body } = await token({ grant_type: 'client_credentials' });
    expect(status).toBe(200);
    const exp = JSON.parse(Buffer.from(body.access_token.split('.')[1], 'base64url').toString()).exp as number;
    expect(body.expires_in).toBeGreaterThanOrEqual(2);
    expect(body.expires_in).toBeLessThanOrEqual(3);
    expect(Date.now() / 1000 + body.expires_in).toBeLessThanOrEqual(exp + 1);
    expect(idp.stats().counts).toContainEqual({ grant: 'client_credentials', client: 'svc', count: 1 });
  });

  it('refuses a wrong client secret and an unknown client', async () => {
    expect((await token({ grant_type: 'client_credentials' }, basic('svc', 'nope'))).body.error).toBe('invalid_client');
    expect((await token({ grant_type: 'client_credentials' }, basic('who', 'x'))).status).toBe(401);
    expect(idp.stats().refused).toBe(2);
  });

  it('rotates refresh tokens: each works once, its successor works next', async () => {
    const first = idp.issueRefreshToken('music-app', 'listener');
    const a = await token({ grant_type: 'refresh_token', refresh_token: first }, basic('music-app', 'm-secret'));
    expect(a.status).toBe(200);
    expect(a.body.refresh_token).toMatch(/^rt_/);
    expect(a.body.refresh_token).not.toBe(first);
    const reused = await token({ grant_type: 'refresh_token', refresh_token: first }, basic('music-app', 'm-secret'));
    expect(reused).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const b = await token({ grant_type: 'refresh_token', refresh_token: a.body.refresh_token }, basic('music-app', 'm-secret'));
    expect(b.status).toBe(200);
    // Another client can't use this client's refresh token.
    const stolen = await token({ grant_type: 'refresh_token', refresh_token: b.body.refresh_token }, basic('svc', 'svc-secret'));
    expect(stolen.status).toBe(400);
  });

  it('serves the ProjectX-style API-key login per API URL', async () => {
    const login = (apiKey: string) =>
      fetch(`${api.url}/projectx/topstep/api/Auth/loginKey`, { method: 'POST', body: JSON.stringify({ userName: 'alice', apiKey }) }).then((r) => r.json() as Promise<any>);
    expect(await login('wrong')).toMatchObject({ success: false, token: null });
    const ok = await login('alice-key');
    expect(ok.success).toBe(true);
    const search = (venue: string) =>
      fetch(`${api.url}/projectx/${venue}/api/Account/search`, { method: 'POST', headers: { authorization: `Bearer ${ok.token}` } });
    expect((await search('topstep')).status).toBe(200);
    // A token for one API URL is refused by another.
    expect((await search('alphaticks')).status).toBe(401);
  });
});

describe('demo resource API', () => {
  it('answers 401 invalid_token for a missing, foreign, misdirected, revoked or expired token', async () => {
    const expectRejected = async (res: Response, reason: string) => {
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
      expect(((await res.json()) as { error_description: string }).error_description).toContain(reason);
    };
    await expectRejected(await fetch(`${api.url}/gateway/orders`), 'missing');

    const { privateKey } = await generateKeyPair('RS256');
    const foreign = await new SignJWT({ aud: 'orders-api', seq: 1 }).setProtectedHeader({ alg: 'RS256', kid: 'x' }).setIssuer(idp.url).setExpirationTime('1m').sign(privateKey);
    await expectRejected(await orders(foreign), 'signature');

    const music = (await token({ grant_type: 'refresh_token', refresh_token: idp.issueRefreshToken('music-app', 'l') }, basic('music-app', 'm-secret'))).body.access_token;
    await expectRejected(await orders(music), 'aud');

    const good = (await token({ grant_type: 'client_credentials' })).body.access_token;
    expect((await orders(good)).status).toBe(200);
    api.revoke();
    await expectRejected(await orders(good), 'revoked');
    const fresh = (await token({ grant_type: 'client_credentials' })).body.access_token;
    expect((await orders(fresh)).status).toBe(200);

    // 3-second tokens, checked 4 s later.
    skewMs = 4_000;
    await expectRejected(await orders(fresh), 'expired');
    skewMs = 0;
  });
});
