/**
 * Secret scan: drive a real Nest app through fetches, refreshes, IdP failures whose bodies echo secrets,
 * 401 retries, health checks and admin calls, with known secret and token values; then search every log
 * line, event, stat, entry, source status, metric, health reply, admin reply and error message for them.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { Injectable, Module } from '@nestjs/common';
import type { AxiosInstance } from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientCredentials,
  InjectTokenClient,
  jwtBearer,
  tokenExchange,
  refreshTokenGrant,
  staticToken,
  TokenCacheModule,
  TokenCacheService,
  tokenFetch,
  tokenFunction,
  type TokenCacheEvent,
  type TokenFetch,
} from 'nestjs-token-cache';
import { FakeClock, flush } from '../libs/token-cache/src/core/testing/fake-clock.js';
import { testMetrics, type TestMetrics } from '../libs/token-cache/src/core/testing/metric-reader.js';
import { distinctTokensWithSubject } from './support/idp-token-function.js';
import { startMockIdp, type MockIdp } from './support/mock-idp.js';
import { CLIENT_SECRET as GRANTS_SECRET, startGrantsIdp, type GrantsIdp } from './support/grants-idp.js';
import { bootObservedApp, type ObservedApp } from './support/observed-app.js';
import { startResourceServer, type ResourceServer } from './support/resource-server.js';
import { echoOf, findLeaks } from './support/secret-encodings.js';

// Secrets hold characters that every encoding changes ('+', '/', '=', '~', a space), so each encoding is a distinct needle.
const CLIENT_SECRET = 'cs-7f3a91d2+client/secret=value~ x';
const REFRESH_TOKEN = 'rt-51c0ffee/initial+refresh=token';
const USER_REFRESH_TOKEN = 'rt-u5er-0ff1ce-refresh-token';
const userRefreshTokens = new Map<string, string>();
let userDbBroken = false;
const API_KEY = 'ak-9e8d7c6b/login+api=key';
// A value a token function declares secret (`secrets`), which its error's cause chain repeats in several encodings.
const FN_SECRET = 'fn-2a7c/declared+secret=1';
// A password in a tokenUrl: refused at construction, and never repeated.
const URL_PASSWORD = 'pw-77e1c0de/url+password';
const OPAQUE = 'opaque-at-4d2e6f80-';
// staticToken (an API key used as a bearer token): a secret like any token.
const STATIC_KEY = 'sk-3b9e77aa-static-api-key';
// A DPoP private key given as PEM: no line of it, nor its JWK private member, may show up anywhere.
const DPOP_KEY = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
const DPOP_PEM = DPOP_KEY.export({ format: 'pem', type: 'pkcs8' }).toString();
const DPOP_SECRETS = [...DPOP_PEM.trim().split('\n').slice(1, -1), (DPOP_KEY.export({ format: 'jwk' }) as { d: string }).d];

@Injectable()
class Clients {
  constructor(
    @InjectTokenClient('orders') readonly orders: AxiosInstance,
    @InjectTokenClient('orders-fetch') readonly ordersFetch: TokenFetch,
  ) {}
}

describe('secret scan', () => {
  let idp: MockIdp;
  let api: ResourceServer;
  let observed: ObservedApp;
  let otel: TestMetrics;
  /** Every secret and token value that must never show up. */
  const secrets = new Set<string>([FN_SECRET, URL_PASSWORD, CLIENT_SECRET, REFRESH_TOKEN, API_KEY, STATIC_KEY, ...DPOP_SECRETS, GRANTS_SECRET]);
  // The enterprise grants: subject tokens, actor tokens and assertions (file, function) are secrets too.
  let grants: GrantsIdp;
  const assertionDir = mkdtempSync(join(tmpdir(), 'scan-assertion-'));
  const assertionPath = join(assertionDir, 'token');
  /** Everything the library said or answered. */
  const outputs: { what: string; text: string }[] = [];
  const events: TokenCacheEvent[] = [];
  const record = (what: string, value: unknown) => outputs.push({ what, text: typeof value === 'string' ? value : JSON.stringify(value) });

  beforeAll(async () => {
    idp = await startMockIdp();
    distinctTokensWithSubject(idp);
    // Every token and refresh token the IdP hands out joins the secrets.
    idp.server.service.on('beforeResponse', (response: { body: Record<string, unknown> | '' }) => {
      if (typeof response.body !== 'object') return;
      for (const field of ['access_token', 'refresh_token', 'id_token']) {
        const value = response.body[field];
        if (typeof value === 'string') secrets.add(value);
      }
    });
    api = await startResourceServer(idp);
    grants = await startGrantsIdp();
    const fileAssertion = await grants.clusterToken();
    writeFileSync(assertionPath, fileAssertion);
    secrets.add(fileAssertion);
    const actor = await grants.userToken('gateway');
    secrets.add(actor);
    otel = testMetrics();
    let opaqueCount = 0;
    let lastOpaque = '';
    const login = tokenFunction(async () => {
      if (loginFails) {
        // A careless login SDK: its error repeats the token it was refreshing.
        throw new Error(`session ${lastOpaque} could not be renewed`);
      }
      lastOpaque = `${OPAQUE}${++opaqueCount}`;
      secrets.add(lastOpaque);
      return { accessToken: lastOpaque, expiresIn: 600 };
    });
    observed = await bootObservedApp(
      TokenCacheModule.forRoot({
        sources: {
          svc: clientCredentials({ tokenUrl: idp.tokenUrl, clientId: 'svc', clientSecret: CLIENT_SECRET, scope: 'orders:read' }),
          post: clientCredentials({ tokenUrl: idp.tokenUrl, clientId: 'svc-post', clientSecret: CLIENT_SECRET, authMethod: 'client_secret_post' }),
          dpop: (dpopSource = clientCredentials({ tokenUrl: idp.tokenUrl, clientId: 'svc-dpop', clientSecret: CLIENT_SECRET, dpop: { privateKey: DPOP_PEM } })),
          user: refreshTokenGrant({
            tokenUrl: idp.tokenUrl,
            clientId: 'user-client',
            clientSecret: CLIENT_SECRET,
            refreshToken: REFRESH_TOKEN,
            onRefreshTokenRotated: (rt) => void secrets.add(rt),
          }),
          // One refresh token per user, kept by the app: the function's tokens and every rotation are secrets.
          perUser: refreshTokenGrant({
            tokenUrl: idp.tokenUrl,
            clientId: 'user-client',
            clientSecret: CLIENT_SECRET,
            refreshToken: async ({ subject }) => {
              const rt = userRefreshTokens.get(subject ?? '') ?? `${USER_REFRESH_TOKEN}-${subject}`;
              secrets.add(rt);
              // A careless repository: once broken, its error repeats the refresh token it read before.
              if (subject === 'carol' && userDbBroken) throw new Error(`database could not decrypt refresh token ${rt}`);
              return rt;
            },
            onRefreshTokenRotated: (rt, request) => {
              secrets.add(rt);
              userRefreshTokens.set(request.subject ?? '', rt);
              if (request.subject === 'bob') throw new Error(`could not save ${rt} for bob`);
            },
          }),
          login,
          obo: tokenExchange({ issuer: grants.issuer, clientId: 'obo', clientSecret: GRANTS_SECRET, audience: 'orders', actorToken: () => actor }),
          oboBad: tokenExchange({ tokenUrl: grants.tokenUrl, clientId: 'obo', clientSecret: 'wrong-obo-secret-value', audience: 'orders' }),
          wif: clientCredentials({ tokenUrl: grants.tokenUrl, clientId: 'wif', authMethod: 'client_assertion', clientAssertion: { path: assertionPath } }),
          bearer: jwtBearer({
            tokenUrl: grants.tokenUrl,
            assertion: async (request) => {
              const a = await grants.clusterToken({ sub: request.subject ?? 'none' });
              secrets.add(a);
              return a;
            },
          }),
          key: staticToken(STATIC_KEY, { expiresIn: 600 }),
          declared: tokenFunction(
            async () => {
              const inner = new Error(`vault said: ${FN_SECRET} / ${encodeURIComponent(FN_SECRET)} / ${Buffer.from(FN_SECRET).toString('base64')}`);
              throw new Error(`login failed (${Buffer.from(FN_SECRET).toString('base64url')})`, { cause: new Error('retry failed', { cause: inner }) });
            },
            { secrets: [FN_SECRET] },
          ),
        },
        clock,
        random: () => 0.5,
        meterProvider: otel.meterProvider,
        admin: { enabled: true },
      }),
      {
        providers: [Clients],
        imports: [
          TokenCacheModule.forFeature({ name: 'orders', source: 'svc', baseURL: api.url }),
          TokenCacheModule.forFeature({ name: 'orders-fetch', source: 'svc', client: 'fetch', baseURL: api.url }),
        ],
      },
    );
    observed.app.get(TokenCacheService).events$.subscribe((e) => events.push(e));
  });

  let dpopSource: ReturnType<typeof clientCredentials>;
  let loginFails = false;
  const clock = new FakeClock();

  afterAll(async () => {
    await observed?.close();
    await api?.close();
    await grants?.close();
    rmSync(assertionDir, { recursive: true, force: true });
    await idp?.close();
    await otel?.shutdown();
  });

  it('finds no secret or token in anything the library outputs', async () => {
    const cache = observed.app.get(TokenCacheService);
    const clients = observed.app.get(Clients);
    const health = async () => record('health', (await observed.get('/health')).text);
    const admin = async () => {
      record('admin status', (await observed.get('/token-cache/status')).text);
    };
    const attempt = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (error) {
        const e = error as Error & Record<string, unknown>;
        // The library's own errors: message, and every own property a logger might serialize.
        if (e?.name?.startsWith('Token')) record(`${what} error`, { ...e, message: e.message, stack: e.stack });
        // What a logger prints: util.inspect of the error (its cause chain, hidden fields), and each cause.
        record(`${what} inspect`, inspect(error, { depth: 20, showHidden: true, getters: true }));
        for (let cause = (error as { cause?: unknown })?.cause, depth = 0; cause !== undefined && depth < 10; cause = (cause as { cause?: unknown })?.cause, depth++) {
          record(`${what} cause ${depth}`, inspect(cause, { depth: 20, showHidden: true }));
        }
      }
    };

    // Fetches of every kind, and hits.
    await cache.getToken('svc');
    await cache.getToken('svc', { subject: 'alice', scopes: ['orders:write'] });
    await cache.getToken('post');
    await cache.getToken('dpop');
    await cache.getToken('user');
    await cache.getToken('key');
    await cache.refresh('key');
    await cache.invalidate('key');
    await cache.getToken('login');
    await cache.getToken('login');
    await cache.refresh('user');
    for (const subject of ['alice', 'bob']) {
      await cache.getToken('perUser', { subject });
      await cache.refresh('perUser', { subject });
    }
    await cache.getToken('perUser', { subject: 'carol' });
    userDbBroken = true;
    await attempt('perUser broken db', () => cache.refresh('perUser', { subject: 'carol' }));
    // On-behalf-of, workload identity and JWT bearer: every token they hand out, and every subject token.
    const subjects = await Promise.all(['alice', 'bob'].map((u) => grants.userToken(u)));
    subjects.push(await grants.userToken('carol', -5)); // expired: refused before sending
    for (const subjectToken of subjects) {
      secrets.add(subjectToken);
      await attempt('obo', async () => secrets.add(await cache.getToken('obo', { subjectToken })));
      await attempt('oboBad', () => cache.getToken('oboBad', { subjectToken }));
    }
    await attempt('obo without subject', () => cache.getToken('obo'));
    secrets.add(await cache.getToken('wif'));
    secrets.add(await cache.getToken('bearer', { subject: 'svc-a' }));
    rmSync(assertionPath);
    await attempt('wif missing file', () => cache.refresh('wif'));
    await health();
    await admin();

    // The 401 path through a forFeature client: a revoked token is invalidated and retried once.
    expect((await clients.orders.get('/orders')).status).toBe(200);
    api.revokeAllSeen();
    expect((await clients.orders.get('/orders')).status).toBe(200);
    api.rejectAll = true;
    await clients.orders.get('/orders').catch(() => undefined); // the second 401 goes to the caller
    api.rejectAll = false;
    // What the axios client keeps on a request config (loggers serialise configs and AxiosErrors): never a
    // token outside the Authorization header the app asked for.
    const retried = await clients.orders.get('/orders', { tokenCache: { subject: 'carol' } });
    const { headers: _sentHeaders, ...configWithoutHeaders } = retried.config;
    record('axios config', inspect(configWithoutHeaders, { depth: 6, showHidden: true, getters: true }));
    record('axios config json', configWithoutHeaders);
    // The same through the fetch client, and its errors.
    api.revokeAllSeen();
    expect((await clients.ordersFetch('/orders', { method: 'POST', body: 'x' })).status).toBe(200);
    api.rejectAll = true;
    expect((await clients.ordersFetch('/orders')).status).toBe(401);
    api.rejectAll = false;
    record('fetch client', inspect(clients.ordersFetch, { showHidden: true }));
    await attempt('fetch client bad tokenCache', () => clients.ordersFetch('/orders', { tokenCache: { subject: CLIENT_SECRET as never, scopes: 1 as never } }));
    await attempt('tokenFetch bad option', async () => tokenFetch(cache, { source: 'svc', baseURL: `ftp://${CLIENT_SECRET}` }));
    await flush();

    // IdP failures whose replies echo the secret and a token back.
    const leakyToken = [...secrets].find((s) => s.startsWith('eyJ'))!;
    idp.failWith = {
      status: 401,
      body: { error: 'invalid_client', error_description: `client secret ${CLIENT_SECRET} does not match; last token ${leakyToken}; refresh ${REFRESH_TOKEN} ${userRefreshTokens.get('alice')}; key ${DPOP_SECRETS[1]} ${DPOP_SECRETS[2]}` },
    };
    for (let i = 0; i < 3; i++) {
      clock.advance(60_000);
      await attempt('svc', () => cache.refresh('svc'));
      await attempt('post', () => cache.getToken('post', { subject: `bob-${i}` }));
      await attempt('user', () => cache.refresh('user'));
      await attempt('perUser', () => cache.refresh('perUser', { subject: 'alice' }));
      await attempt('dpop', () => cache.refresh('dpop'));
    }
    idp.failWith = { status: 500, body: { error: 'server_error', error_description: `upstream said: Authorization: Basic ${Buffer.from(`svc:${CLIENT_SECRET}`).toString('base64')}` } };
    secrets.add(Buffer.from(`svc:${CLIENT_SECRET}`).toString('base64'));
    clock.advance(60_000);
    await attempt('svc 500', () => cache.refresh('svc'));
    // A 200 that is not JSON but echoes the secret.
    idp.failWith = { status: 200, body: '' };
    clock.advance(60_000);
    await attempt('svc empty 200', () => cache.refresh('svc'));

    // An IdP that echoes every secret it knows in every encoding, in error_description and in error itself, on
    // every kind of failure reply (a 2xx with error included).
    const echoed = () => [CLIENT_SECRET, REFRESH_TOKEN, userRefreshTokens.get('alice')!, leakyToken, DPOP_SECRETS.at(-1)!].filter(Boolean);
    for (const status of [400, 401, 429, 500, 503, 200]) {
      for (const body of [
        { error: 'invalid_grant', error_description: echoOf(echoed()) },
        { error: CLIENT_SECRET, error_description: encodeURIComponent(REFRESH_TOKEN) },
        { error: `invalid_client ${new URLSearchParams({ s: CLIENT_SECRET }).toString()}`, error_uri: `https://idp.example/e?rt=${encodeURIComponent(REFRESH_TOKEN)}` },
      ]) {
        idp.failWith = { status, body };
        clock.advance(60_000);
        await attempt(`svc echo ${status}`, () => cache.refresh('svc'));
        await attempt(`post echo ${status}`, () => cache.refresh('post'));
        await attempt(`user echo ${status}`, () => cache.refresh('user'));
        await attempt(`perUser echo ${status}`, () => cache.refresh('perUser', { subject: 'alice' }));
        await attempt(`dpop echo ${status}`, () => cache.refresh('dpop'));
      }
    }
    idp.failWith = undefined;
    // A token function's error whose cause chain repeats a declared secret.
    await attempt('declared', () => cache.getToken('declared'));
    // A tokenUrl with a password: refused at construction, without the password.
    await attempt('tokenUrl password', async () => clientCredentials({ tokenUrl: `https://svc:${URL_PASSWORD}@idp.example/token`, clientId: 'svc', clientSecret: CLIENT_SECRET }));
    await attempt('issuer password', async () => clientCredentials({ issuer: `https://svc:${encodeURIComponent(URL_PASSWORD)}@idp.example`, clientId: 'svc', clientSecret: CLIENT_SECRET }));

    // A token function whose error repeats the token it holds.
    loginFails = true;
    clock.advance(600_000);
    await attempt('login', () => cache.getToken('login'));
    await attempt('login', () => cache.refresh('login'));
    await health();
    await admin();
    record('health listed', (await observed.get('/health?sources=svc,user,login')).text);

    // Admin removals (valid and invalid queries).
    record('admin delete', (await observed.del('/token-cache/tokens?expired=true')).text);
    record('admin delete bad', (await observed.del(`/token-cache/tokens?source=${encodeURIComponent(CLIENT_SECRET)}`)).text);
    record('admin delete bad', (await observed.del('/token-cache/tokens?expired=maybe')).text);
    record('admin delete', (await observed.del('/token-cache/tokens?source=svc')).text);
    record('admin delete', (await observed.del('/token-cache/tokens')).text);
    idp.failWith = undefined;
    await health();

    // Everything the library says about itself.
    record('stats', cache.stats());
    record('inspect dpop source', inspect(dpopSource, { depth: 10, showHidden: true }));
    record('inspect dpop key', inspect(cache.dpopKey('dpop'), { depth: 10, showHidden: true }));
    record('json dpop source', dpopSource);
    record('entries', cache.entries());
    for (const name of cache.sourceNames()) record(`sourceStatus ${name}`, cache.sourceStatus(name));
    record('events', events);
    record('metrics', (await otel.collect()).points);
    for (const line of observed.logger.lines) record(`log ${line.level} ${line.context ?? ''}`, line.message);

    // The scan saw every kind of output it is meant to check.
    const kinds = new Set(events.map((e) => e.type));
    for (const type of ['fetched', 'refreshed', 'fetch_failed', 'invalidated', 'expired', 'cleared']) expect(kinds, type).toContain(type);
    expect(events.some((e) => e.source === 'obo' && e.type === 'fetched')).toBe(true);
    expect(events.some((e) => e.source === 'oboBad' && e.type === 'fetch_failed')).toBe(true);
    expect(grants.requests.length).toBeGreaterThanOrEqual(6);
    expect(api.requests.filter((r) => !r.accepted).length).toBeGreaterThanOrEqual(2);
    expect(observed.logger.tokenCache().some((l) => l.level === 'warn')).toBe(true);
    expect(observed.logger.tokenCache().some((l) => l.level === 'error')).toBe(true);
    expect(outputs.some((o) => o.what === 'health' && o.text.includes('"down"'))).toBe(true);
    expect(secrets.size).toBeGreaterThan(8);

    // Every secret in every encoding (test/support/secret-encodings.ts), in every output.
    const leaks = findLeaks(secrets, outputs);
    expect(leaks).toEqual([]);
  });
});
