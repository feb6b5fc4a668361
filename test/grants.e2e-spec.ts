/**
 * The enterprise grants against a real loopback IdP that checks signatures, audiences, expiry and secrets:
 * issuer discovery, RFC 8693 token exchange (on-behalf-of), RFC 7523 JWT bearer, and client assertions read
 * from a directory laid out like a Kubernetes projected volume and rotated by a `..data` symlink swap.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import {
  clientCredentials,
  jwtBearer,
  TokenCache,
  TokenCacheConfigError,
  TokenFetchError,
  tokenExchange,
  type TokenCacheEvent,
} from 'nestjs-token-cache/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../libs/token-cache/src/core/testing/fake-clock.js';
import { CLIENT_SECRET, FEDERATED_SUBJECT, startGrantsIdp, WIF_AUDIENCE, type GrantsIdp } from './support/grants-idp.js';

let idp: GrantsIdp;
const caches: TokenCache[] = [];
const newCache = (options: ConstructorParameters<typeof TokenCache>[0]) => {
  const cache = new TokenCache(options);
  caches.push(cache);
  return cache;
};
afterEach(async () => {
  for (const cache of caches.splice(0)) await cache.close();
  await idp?.close();
});

const tokenRequests = () => idp.requests.filter((r) => r.path.endsWith('/token'));

/** Every output a user can see of a cache and its errors, as one string. */
function allOutputs(cache: TokenCache, events: TokenCacheEvent[], errors: unknown[]): string {
  return JSON.stringify({ stats: cache.stats(), entries: cache.entries(), events, errors: errors.map((e) => inspect(e, { depth: 5 })) });
}
/** A value in every encoding it could leak in. */
const forms = (value: string) => [
  value,
  encodeURIComponent(value),
  new URLSearchParams({ v: value }).toString().slice(2),
  Buffer.from(value).toString('base64'),
  Buffer.from(value).toString('base64url'),
];

describe('issuer discovery', () => {
  it('reads the OIDC document on the first fetch (never at start), keeps it, and uses its token endpoint', async () => {
    idp = await startGrantsIdp({ issuerPath: '/realms/demo' });
    const cache = newCache({
      sources: { api: clientCredentials({ issuer: idp.issuer, clientId: 'svc', clientSecret: CLIENT_SECRET }) },
    });
    expect(idp.discoveryRequests).toEqual([]);
    await cache.getToken('api');
    await cache.refresh('api');
    await cache.getToken('api', { audience: 'other' });
    expect(idp.discoveryRequests).toEqual(['/realms/demo/.well-known/openid-configuration']);
    expect(tokenRequests().map((r) => r.path)).toEqual(['/realms/demo/token', '/realms/demo/token', '/realms/demo/token']);
  });

  it('falls back to RFC 8414 (/.well-known/oauth-authorization-server inserted before the issuer path)', async () => {
    idp = await startGrantsIdp({ discovery: 'oauth2', issuerPath: '/tenant-a' });
    const source = clientCredentials({ issuer: `${idp.issuer}/`, clientId: 'svc', clientSecret: CLIENT_SECRET });
    const cache = newCache({ sources: { api: source } });
    expect(await idp.verify(await cache.getToken('api'))).toMatchObject({ sub: 'svc' });
    expect(idp.discoveryRequests).toEqual(['/tenant-a/.well-known/openid-configuration', '/.well-known/oauth-authorization-server/tenant-a']);
  });

  it('no discovery document: a TokenFetchError naming it, nothing sent to a token endpoint, discovered again next time', async () => {
    idp = await startGrantsIdp({ discovery: 'none' });
    const source = clientCredentials({ issuer: idp.issuer, clientId: 'svc', clientSecret: CLIENT_SECRET });
    const ctx = { signal: new AbortController().signal, clock: new FakeClock(0) };
    for (let i = 0; i < 2; i++) {
      const error = await source.fetchToken({ source: 'api' }, ctx).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TokenFetchError);
      expect((error as Error).message).toMatch(/no discovery document/);
      expect((error as Error).message).toContain('"issuer"');
      expect((error as TokenFetchError).retryable).toBe(false);
    }
    expect(idp.discoveryRequests).toHaveLength(4);
    expect(tokenRequests()).toHaveLength(0);
    await source.close?.();
  });

  it('through the cache: a failed discovery backs off like any failed fetch, then succeeds once the IdP serves it', async () => {
    idp = await startGrantsIdp({ discovery: 'none' });
    const clock = new FakeClock(Date.now());
    const cache = newCache({ clock, random: () => 0.5, sources: { api: clientCredentials({ issuer: idp.issuer, clientId: 'svc', clientSecret: CLIENT_SECRET }) } });
    await expect(cache.getToken('api')).rejects.toBeInstanceOf(TokenFetchError);
    await expect(cache.getToken('api')).rejects.toBeInstanceOf(TokenFetchError); // backing off: no new discovery
    expect(idp.discoveryRequests).toHaveLength(2);
    expect(cache.stats().fetchFailures).toBe(1);
  });

  it('a document naming another issuer is refused (non-retryable), naming the issuer it found; a trailing slash is forgiven', async () => {
    idp = await startGrantsIdp({ advertisedIssuer: 'https://login.example.com/other-tenant' });
    const source = clientCredentials({ issuer: idp.issuer, clientId: 'svc', clientSecret: CLIENT_SECRET });
    const error = await source.fetchToken({ source: 'api' }, { signal: new AbortController().signal, clock: new FakeClock(0) }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'TokenFetchError', retryable: false });
    expect((error as Error).message).toContain('https://login.example.com/other-tenant');
    expect(tokenRequests()).toHaveLength(0);
    await idp.close();
    idp = await startGrantsIdp({ issuerPath: '/realms/x' });
    const slash = clientCredentials({ issuer: `${idp.issuer}/`, clientId: 'svc', clientSecret: CLIENT_SECRET });
    await expect(slash.fetchToken({ source: 'api' }, { signal: new AbortController().signal, clock: new FakeClock(0) })).resolves.toMatchObject({ tokenType: 'Bearer' });
  });

  it('bad issuer options fail at once naming the option, without a password', () => {
    expect(() => clientCredentials({ issuer: 'http://idp.example.com', clientId: 'a', clientSecret: 'b' })).toThrow(/clientCredentials\.issuer.*https/);
    expect(() => clientCredentials({ issuer: 'https://idp.example.com/?x=1', clientId: 'a', clientSecret: 'b' })).toThrow(TokenCacheConfigError);
    expect(() => clientCredentials({ clientId: 'a', clientSecret: 'b' } as never)).toThrow(/tokenUrl.*issuer/);
    for (const option of ['issuer', 'tokenUrl'] as const) {
      const error = (() => {
        try {
          clientCredentials({ [option]: 'https://user:hunter2-pw@idp.example.com/token', clientId: 'a', clientSecret: 'b' } as never);
        } catch (e) {
          return e as TokenCacheConfigError;
        }
      })();
      expect(error).toBeInstanceOf(TokenCacheConfigError);
      expect(error!.option).toBe(`clientCredentials.${option}`);
      expect(inspect(error)).not.toContain('hunter2');
    }
  });
});

describe('tokenExchange (RFC 8693, on-behalf-of)', () => {
  beforeEach(async () => {
    idp = await startGrantsIdp();
  });
  const obo = (extra: Partial<Parameters<typeof tokenExchange>[0]> = {}) =>
    tokenExchange({ issuer: idp.issuer, clientId: 'obo-client', clientSecret: CLIENT_SECRET, audience: 'orders-api', ...extra });

  it("exchanges the caller's token for one to call the downstream API as the caller", async () => {
    const cache = newCache({ sources: { obo: obo() } });
    const alice = await idp.userToken('alice');
    const token = await cache.getToken('obo', { subjectToken: alice });
    expect(await idp.verify(token)).toMatchObject({ sub: 'alice', aud: 'orders-api', client_id: 'obo-client' });
    const [sent] = tokenRequests();
    expect(sent).toMatchObject({
      grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
      form: { subject_token: alice, subject_token_type: 'urn:ietf:params:oauth:token-type:access_token', audience: 'orders-api' },
    });
    expect(sent!.authorization).toMatch(/^Basic /);
  });

  it('one exchange per subject token however many concurrent callers; different subject tokens never share', async () => {
    const cache = newCache({ sources: { obo: obo() } });
    const [alice, bob] = await Promise.all([idp.userToken('alice'), idp.userToken('bob')]);
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => cache.getToken('obo', { subjectToken: i % 2 ? alice : bob })));
    expect(tokenRequests()).toHaveLength(2);
    const subs = await Promise.all(tokens.map(async (t) => (await idp.verify(t)).sub));
    subs.forEach((sub, i) => expect(sub).toBe(i % 2 ? 'alice' : 'bob'));
    // The request's audience is part of the key: a second audience is a second exchange.
    await cache.getToken('obo', { subjectToken: alice, audience: 'billing-api' });
    expect(tokenRequests()).toHaveLength(3);
    expect(tokenRequests()[2]!.form.audience).toBe('billing-api');
  });

  it('the exchanged token is not used past the subject JWT exp', async () => {
    const clock = new FakeClock(Date.now());
    const cache = newCache({ clock, expirySkewMs: 0, sources: { obo: obo() } });
    idp.expiresIn = 3600;
    const shortLived = await idp.userToken('alice', 120);
    const exp = JSON.parse(Buffer.from(shortLived.split('.')[1]!, 'base64url').toString()).exp as number;
    const cached = await cache.getCachedToken('obo', { subjectToken: shortLived });
    expect(cached.expiresAt.getTime()).toBeLessThanOrEqual(exp * 1000);
    expect(cache.peek('obo', { subjectToken: shortLived })).toBeDefined();
    clock.advance(exp * 1000 - clock.now() + 1);
    expect(cache.peek('obo', { subjectToken: shortLived })).toBeUndefined();
  });

  it('an expired subject token is not sent: TokenFetchError, nothing on the wire', async () => {
    const cache = newCache({ sources: { obo: obo() } });
    const expired = await idp.userToken('alice', -10);
    const error = await cache.getToken('obo', { subjectToken: expired }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenFetchError);
    expect((error as Error).message).toMatch(/subject token has expired/);
    expect(tokenRequests()).toHaveLength(0);
  });

  it('without subjectToken: TokenCacheConfigError naming subjectToken, and nothing is sent', async () => {
    const cache = newCache({ sources: { obo: obo() } });
    for (const params of [undefined, {}, { subjectToken: '' }]) {
      const error = await cache.getToken('obo', params).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TokenCacheConfigError);
      expect((error as TokenCacheConfigError).option).toBe('subjectToken');
    }
    expect(tokenRequests()).toHaveLength(0);
    expect(idp.discoveryRequests).toHaveLength(0);
  });

  it('actorToken (a function) is sent as actor_token, and the IdP records the actor', async () => {
    const actor = await idp.userToken('gateway-service');
    const cache = newCache({ sources: { obo: obo({ actorToken: async () => actor }) } });
    const token = await cache.getToken('obo', { subjectToken: await idp.userToken('alice') });
    expect(await idp.verify(token)).toMatchObject({ sub: 'alice', act: { sub: 'gateway-service' } });
    expect(tokenRequests()[0]!.form).toMatchObject({ actor_token: actor, actor_token_type: 'urn:ietf:params:oauth:token-type:access_token' });
  });

  it('the subject token appears in no key, entry, event, stat or error, in any encoding', async () => {
    const cache = newCache({ sources: { obo: obo({ clientSecret: 'wrong-secret-value' }) } });
    const events: TokenCacheEvent[] = [];
    cache.events$.subscribe((e) => events.push(e));
    const alice = await idp.userToken('alice');
    const errors: unknown[] = [];
    errors.push(await cache.getToken('obo', { subjectToken: alice }).catch((e: unknown) => e));
    const good = newCache({ sources: { obo: obo() } });
    const goodEvents: TokenCacheEvent[] = [];
    good.events$.subscribe((e) => goodEvents.push(e));
    await good.getToken('obo', { subjectToken: alice });
    expect(errors[0]).toBeInstanceOf(TokenFetchError);
    const out = allOutputs(cache, events, errors) + allOutputs(good, goodEvents, []);
    for (const form of [...forms(alice), ...forms('wrong-secret-value'), ...forms(CLIENT_SECRET)]) expect(out).not.toContain(form);
    expect(good.entries()[0]!.key).toMatch(/^obo\|aud=orders-api\|sbj=[\w-]{43}$|^obo\|sbj=[\w-]{43}$/);
  });

  it('util.inspect and JSON of the cache show the subject token neither while it is being exchanged nor after', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const cache = newCache({ sources: { obo: obo({ fetch: async (url, init) => (await gate, fetch(url, init)) }) } });
    const alice = await idp.userToken('alice');
    const pending = cache.getToken('obo', { subjectToken: alice });
    const shown = () => inspect(cache, { depth: 20, showHidden: true }) + JSON.stringify(cache) + inspect({ cache }, { depth: 20 });
    await new Promise((resolve) => setImmediate(resolve));
    for (const form of forms(alice)) expect(shown()).not.toContain(form);
    release();
    await pending;
    await cache.getToken('obo', { subjectToken: alice }); // a warm lookup with the same token
    for (const form of forms(alice)) expect(shown()).not.toContain(form);
    expect(JSON.parse(JSON.stringify(cache))).toEqual({ sources: ['obo'], store: 'memory', size: 1 });
  });

  it('an IdP that echoes the subject token in error_description has it redacted', async () => {
    const alice = await idp.userToken('alice');
    const echo = await startEchoingIdp(alice);
    try {
      const cache = newCache({ sources: { obo: tokenExchange({ tokenUrl: echo.url, clientId: 'c', clientSecret: 's3cret-value' }) } });
      const error = await cache.getToken('obo', { subjectToken: alice.split('.').join('') }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TokenFetchError);
      expect(inspect(error, { depth: 5 })).not.toContain(alice.split('.').join(''));
    } finally {
      await echo.close();
    }
  });
});

async function startEchoingIdp(_unused: string) {
  const { startRawServer, json } = await import('./support/raw-http-server.js');
  return startRawServer((res, req) => json(res, 400, { error: 'invalid_grant', error_description: `bad subject_token ${req.body.get('subject_token')}` }));
}

/** A directory laid out as the kubelet lays out a projected volume: token -> ..data/token, ..data -> ..<timestamp>. */
function projectedVolume() {
  const dir = mkdtempSync(join(tmpdir(), 'projected-'));
  let n = 0;
  const write = (content: string) => {
    const version = `..2026_01_01_00_00_0${n++}.${Math.random().toString(36).slice(2, 8)}`;
    mkdirSync(join(dir, version));
    writeFileSync(join(dir, version, 'token'), content);
    // Atomic swap, as the kubelet's AtomicWriter does: a new symlink renamed over ..data.
    symlinkSync(version, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  };
  return {
    path: join(dir, 'token'),
    init(content: string) {
      write(content);
      symlinkSync(join('..data', 'token'), join(dir, 'token'));
    },
    rotate: write,
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

describe('workload identity: client assertions and the JWT bearer grant from a projected service-account token', () => {
  beforeEach(async () => {
    idp = await startGrantsIdp();
  });

  it("authMethod 'client_assertion' with { path }: read afresh per request, across a ..data symlink swap", async () => {
    const volume = projectedVolume();
    try {
      const first = await idp.clusterToken();
      volume.init(first);
      const cache = newCache({
        sources: { wif: clientCredentials({ issuer: idp.issuer, clientId: 'wif-client', authMethod: 'client_assertion', clientAssertion: { path: volume.path } }) },
      });
      expect(await idp.verify(await cache.getToken('wif'))).toMatchObject({ sub: 'wif-client' });
      const second = await idp.clusterToken();
      volume.rotate(second);
      await cache.refresh('wif');
      const sent = tokenRequests().map((r) => r.form);
      expect(sent.map((f) => f.client_assertion)).toEqual([first, second]);
      expect(sent[0]).toMatchObject({ client_id: 'wif-client', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' });
      expect(tokenRequests()[0]!.authorization).toBeUndefined();
      // A token for another subject is refused by the IdP: invalid_client, the assertion in no output.
      const events: TokenCacheEvent[] = [];
      cache.events$.subscribe((e) => events.push(e));
      const wrong = await idp.clusterToken({ sub: 'system:serviceaccount:other:default' });
      volume.rotate(wrong);
      const error = await cache.refresh('wif').catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'TokenFetchError', oauthError: 'invalid_client', status: 401 });
      const out = allOutputs(cache, events, [error]);
      for (const t of [first, second, wrong]) for (const form of forms(t)) expect(out).not.toContain(form);
    } finally {
      volume.dispose();
    }
  });

  it('a missing assertion file is a retryable TokenFetchError naming the path; nothing is sent', async () => {
    const cache = newCache({
      sources: { wif: clientCredentials({ tokenUrl: idp.tokenUrl, clientId: 'wif-client', authMethod: 'client_assertion', clientAssertion: { path: '/nonexistent/token' } }) },
    });
    const error = await cache.getToken('wif').catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'TokenFetchError', retryable: true });
    expect((error as Error).message).toContain('/nonexistent/token');
    expect((error as Error).message).toContain('ENOENT');
    expect(tokenRequests()).toHaveLength(0);
  });

  it('clientAssertion as a string and as a function (called for every request)', async () => {
    let calls = 0;
    const fn = async () => {
      calls++;
      return idp.clusterToken();
    };
    const cache = newCache({
      sources: {
        s: clientCredentials({ tokenUrl: idp.tokenUrl, clientId: 'a', authMethod: 'client_assertion', clientAssertion: await idp.clusterToken() }),
        f: clientCredentials({ tokenUrl: idp.tokenUrl, clientId: 'b', authMethod: 'client_assertion', clientAssertion: fn }),
      },
    });
    await cache.getToken('s');
    await cache.getToken('f');
    await cache.refresh('f');
    expect(calls).toBe(2);
    expect(new Set(tokenRequests().map((r) => r.form.client_assertion)).size).toBe(3);
    expect(() => clientCredentials({ tokenUrl: idp.tokenUrl, clientId: 'a', authMethod: 'client_assertion' })).toThrow(/clientAssertion/);
  });

  it('jwtBearer (RFC 7523 §2.1): assertion from { path } across a rotation, from a function of the request, no client auth', async () => {
    const volume = projectedVolume();
    try {
      const first = await idp.clusterToken({ sub: 'system:serviceaccount:ns:a', aud: 'idp' });
      volume.init(first);
      const cache = newCache({
        sources: {
          file: jwtBearer({ issuer: idp.issuer, assertion: { path: volume.path }, audience: 'orders-api' }),
          perUser: jwtBearer({ tokenUrl: idp.tokenUrl, clientId: 'bearer-client', clientSecret: CLIENT_SECRET, assertion: (request) => idp.clusterToken({ sub: request.subject ?? 'nobody' }) }),
        },
      });
      expect(await idp.verify(await cache.getToken('file'))).toMatchObject({ sub: 'system:serviceaccount:ns:a', aud: 'orders-api' });
      const second = await idp.clusterToken({ sub: 'system:serviceaccount:ns:a', aud: 'idp' });
      volume.rotate(second);
      await cache.refresh('file');
      expect(await idp.verify(await cache.getToken('perUser', { subject: 'carol' }))).toMatchObject({ sub: 'carol' });
      const sent = tokenRequests();
      expect(sent.map((r) => r.grantType)).toEqual(Array(3).fill('urn:ietf:params:oauth:grant-type:jwt-bearer'));
      expect(sent.map((r) => r.form.assertion).slice(0, 2)).toEqual([first, second]);
      expect(sent[0]!.form.client_id).toBeUndefined();
      expect(sent[0]!.authorization).toBeUndefined();
      expect(sent[2]!.authorization).toMatch(/^Basic /);
      expect(() => jwtBearer({ tokenUrl: idp.tokenUrl } as never)).toThrow(/jwtBearer\.assertion/);
    } finally {
      volume.dispose();
    }
  });

  it(`the federated subject is what the IdP checks (${FEDERATED_SUBJECT}, aud ${WIF_AUDIENCE})`, async () => {
    const cache = newCache({
      sources: { wif: clientCredentials({ tokenUrl: idp.tokenUrl, clientId: 'wif', authMethod: 'client_assertion', clientAssertion: () => idp.clusterToken({ aud: 'wrong-aud' }) }) },
    });
    await expect(cache.getToken('wif')).rejects.toMatchObject({ oauthError: 'invalid_client' });
  });
});
