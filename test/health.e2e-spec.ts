import { afterEach, describe, expect, it } from 'vitest';
import { MemoryTokenStore, TokenCacheModule, TokenCacheService, TokenFetchError } from 'nestjs-token-cache';
import { TokenCacheHealthIndicator } from 'nestjs-token-cache/health';
import { FakeClock, flush } from '../libs/token-cache/src/core/testing/fake-clock.js';
import { bootObservedApp, switchableSource, type ObservedApp } from './support/observed-app.js';

let running: ObservedApp | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

/** A store that pretends to be a remote one whose backend went away. */
class FlakyRemoteStore extends MemoryTokenStore {
  override readonly type = 'remote-test';
  override reachable = true;
}

describe('TokenCacheHealthIndicator over HTTP (/health)', () => {
  it('is up with every source unused, reports stats and the store, and never fetches a token', async () => {
    const api = switchableSource();
    const other = switchableSource();
    running = await bootObservedApp(TokenCacheModule.forRoot({ sources: { api, other }, clock: new FakeClock() }));
    const res = await running.get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'ok',
      info: {
        'token-cache': {
          status: 'up',
          size: 0,
          hitRate: 0,
          store: { type: 'memory', reachable: true },
          sources: { api: { state: 'unused', consecutiveFailures: 0 }, other: { state: 'unused', consecutiveFailures: 0 } },
        },
      },
      error: {},
      details: expect.any(Object),
    });
    expect(api.calls + other.calls).toBe(0);
  });

  it('stays up while a refresh fails but the token is usable, and is 503 with the failing source once it is not', async () => {
    const clock = new FakeClock();
    const api = switchableSource();
    const other = switchableSource();
    running = await bootObservedApp(TokenCacheModule.forRoot({ sources: { api, other }, clock, random: () => 0.5 }));
    const cache = running.app.get(TokenCacheService);

    await cache.getToken('api');
    await cache.getToken('api');
    let res = await running.get('/health');
    expect(res.status).toBe(200);
    expect(res.body.info['token-cache']).toMatchObject({
      status: 'up',
      size: 1,
      hitRate: 0.5,
      sources: { api: { state: 'valid', expiresInMs: 600_000, consecutiveFailures: 0 }, other: { state: 'unused' } },
    });

    // Into the refresh window (API 0.2, adaptive: from 540 s of a 600 s lifetime): the background refresh
    // fails, the token still serves.
    api.failWith = new TokenFetchError('The identity provider answered HTTP 503', { status: 503 });
    clock.advance(545_000);
    await expect(cache.getToken('api')).resolves.toBe('token-1');
    await flush();
    res = await running.get('/health');
    expect(res.status).toBe(200);
    expect(res.body.info['token-cache'].sources.api).toMatchObject({
      state: 'refresh-due',
      expiresInMs: 55_000,
      consecutiveFailures: 1,
      lastError: { name: 'TokenFetchError', message: 'The identity provider answered HTTP 503' },
    });

    // Past expiry and the fetch fails: down, with the source's details.
    clock.advance(200_000);
    await expect(cache.getToken('api')).rejects.toThrow(TokenFetchError);
    const callsBefore = api.calls;
    res = await running.get('/health');
    expect(res.status).toBe(503);
    expect(res.body.status).toBe('error');
    expect(res.body.error['token-cache']).toMatchObject({
      status: 'down',
      store: { type: 'memory', reachable: true },
      sources: {
        api: { state: 'failing', consecutiveFailures: 2, lastError: { name: 'TokenFetchError', message: 'The identity provider answered HTTP 503', at: expect.any(String) } },
        other: { state: 'unused', consecutiveFailures: 0 },
      },
    });
    expect(res.body.error['token-cache'].sources.api).not.toHaveProperty('expiresInMs');
    // Only listed sources count: `other` alone is healthy even now.
    res = await running.get('/health?sources=other');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.info['token-cache'].sources)).toEqual(['other']);
    expect(api.calls).toBe(callsBefore); // health checks never fetch

    // The IdP recovers: after the backoff the next call fetches and health is up again.
    api.failWith = undefined;
    clock.advance(60_000);
    await expect(cache.getToken('api')).resolves.toMatch(/^token-/);
    res = await running.get('/health');
    expect(res.status).toBe(200);
    expect(res.body.info['token-cache'].sources.api).toMatchObject({ state: 'valid', consecutiveFailures: 0 });
  });

  it('counts an unused failing-free source as up, but a listed source that failed with no token as down', async () => {
    const clock = new FakeClock();
    const api = switchableSource();
    const other = switchableSource();
    running = await bootObservedApp(TokenCacheModule.forRoot({ sources: { api, other }, clock }));
    const cache = running.app.get(TokenCacheService);
    other.failWith = new TokenFetchError('invalid_client', { status: 401, oauthError: 'invalid_client', retryable: false });
    await expect(cache.getToken('other')).rejects.toThrow();
    await cache.getToken('api');
    expect((await running.get('/health?sources=api')).status).toBe(200);
    const down = await running.get('/health?sources=other');
    expect(down.status).toBe(503);
    expect(down.body.error['token-cache'].sources).toEqual({
      other: { state: 'failing', consecutiveFailures: 1, lastError: { name: 'TokenFetchError', message: 'invalid_client', at: expect.any(String) } },
    });
    expect((await running.get('/health')).status).toBe(503);
  });

  it('reports store.reachable: false and stays up while the store works from memory', async () => {
    const store = new FlakyRemoteStore();
    running = await bootObservedApp(TokenCacheModule.forRoot({ sources: { api: switchableSource() }, store, clock: new FakeClock() }));
    await running.app.get(TokenCacheService).getToken('api');
    store.reachable = false;
    const res = await running.get('/health');
    expect(res.status).toBe(200);
    expect(res.body.info['token-cache'].store).toEqual({ type: 'remote-test', reachable: false });
  });

  it('isHealthy never throws: a listed source that is not configured reports down, and the key is the caller\'s', async () => {
    running = await bootObservedApp(TokenCacheModule.forRoot({ sources: { api: switchableSource() }, clock: new FakeClock() }));
    const indicator = running.app.get(TokenCacheHealthIndicator);
    const result = await indicator.isHealthy('tokens', { sources: ['api', 'nope'] });
    expect(result).toEqual({
      tokens: {
        status: 'down',
        size: 0,
        hitRate: 0,
        store: { type: 'memory', reachable: true },
        sources: {
          api: { state: 'unused', consecutiveFailures: 0 },
          nope: { state: 'failing', consecutiveFailures: 0, lastError: { name: 'UnknownTokenSourceError', message: expect.stringContaining('"nope"') } },
        },
      },
    });
    expect(Object.keys(await indicator.isHealthy())).toEqual(['token-cache']);
  });
});

describe('TokenCacheHealthIndicator wiring', () => {
  it('finds the cache of a forRoot with isGlobal: false, and reports down (never throws) when there is none', async () => {
    const { Module } = await import('@nestjs/common');
    const { NestFactory } = await import('@nestjs/core');
    const { TerminusModule } = await import('@nestjs/terminus');
    @Module({ imports: [TerminusModule], providers: [TokenCacheHealthIndicator] })
    class HealthOnly {}
    @Module({ imports: [TokenCacheModule.forRoot({ isGlobal: false, sources: { api: switchableSource() } }), HealthOnly] })
    class WithLocalCache {}
    const app = await NestFactory.createApplicationContext(WithLocalCache, { logger: false });
    const result = await app.get(TokenCacheHealthIndicator).isHealthy();
    expect(result['token-cache']).toMatchObject({ status: 'up', sources: { api: { state: 'unused' } } });
    await app.close();

    @Module({ imports: [HealthOnly] })
    class WithoutCache {}
    const bare = await NestFactory.createApplicationContext(WithoutCache, { logger: false });
    const down = await bare.get(TokenCacheHealthIndicator).isHealthy('tc');
    expect(down).toEqual({
      tc: { status: 'down', error: { name: 'TokenCacheConfigError', message: expect.stringMatching(/found no TokenCacheService.*TokenCacheModule\.forRoot\(\)/) } },
    });
    await bare.close();
  });
});

describe('TokenCacheHealthIndicator: removed entries and waiting callers (issue 12)', () => {
  it('a source whose entries were removed (admin DELETE, clear) is idle and up, not expired', async () => {
    const api = switchableSource();
    running = await bootObservedApp(TokenCacheModule.forRoot({ sources: { api }, clock: new FakeClock(), admin: { enabled: true } }));
    const cache = running.app.get(TokenCacheService);
    await cache.getToken('api');
    await cache.getToken('api', { subject: 'alice' });
    expect((await running.get('/health')).body.info['token-cache'].sources.api.state).toBe('valid');
    expect((await running.del('/token-cache/tokens?source=api')).body).toEqual({ removed: 2 });
    const res = await running.get('/health');
    expect(res.status).toBe(200);
    expect(res.body.info['token-cache']).toMatchObject({ status: 'up', size: 0, sources: { api: { state: 'idle', consecutiveFailures: 0 } } });
    expect(res.body.info['token-cache'].sources.api).not.toHaveProperty('expiresInMs');
    await cache.getToken('api');
    await cache.clear();
    expect(cache.sourceStatus('api').state).toBe('idle');
  });

  it('callers waiting on a hung fetch with no usable token: waiting (up) until it times out, then down while they wait again', async () => {
    const clock = new FakeClock();
    const hung: { resolve?: (token: string) => void } = {};
    let calls = 0;
    const { tokenFunction } = await import('nestjs-token-cache');
    const api = tokenFunction(() => {
      calls++;
      return new Promise<string>((resolve) => (hung.resolve = resolve));
    });
    running = await bootObservedApp(TokenCacheModule.forRoot({ sources: { api }, clock, fetchTimeoutMs: 5_000 }));
    const cache = running.app.get(TokenCacheService);
    const indicator = running.app.get(TokenCacheHealthIndicator);

    const first = cache.getToken('api').catch((e: unknown) => e);
    const second = cache.getToken('api').catch((e: unknown) => e);
    await flush();
    clock.advance(2_000);
    let health = await indicator.isHealthy();
    expect(health['token-cache']).toMatchObject({ status: 'up', sources: { api: { state: 'waiting', waitingMs: 2_000, consecutiveFailures: 0 } } });

    clock.advance(3_000); // the fetch timeout: both callers get the TokenFetchError
    expect(await first).toBeInstanceOf(TokenFetchError);
    expect(await second).toBeInstanceOf(TokenFetchError);
    health = await indicator.isHealthy();
    expect(health['token-cache']).toMatchObject({ status: 'down', sources: { api: { state: 'failing', consecutiveFailures: 1 } } });
    expect(health['token-cache'].sources.api.lastError?.message).toMatch(/timed out after 5000 ms/);

    // Past the backoff, callers wait on a new fetch that hangs again: still down, shown as waiting.
    clock.advance(60_000);
    const third = cache.getToken('api').catch((e: unknown) => e);
    await flush();
    expect(calls).toBe(2);
    health = await indicator.isHealthy();
    expect(health['token-cache']).toMatchObject({ status: 'down', sources: { api: { state: 'waiting', consecutiveFailures: 1 } } });
    const res = await running.get('/health');
    expect(res.status).toBe(503);

    hung.resolve!('recovered-token');
    expect(await third).toBe('recovered-token');
    health = await indicator.isHealthy();
    expect(health['token-cache']).toMatchObject({ status: 'up', sources: { api: { state: 'valid', consecutiveFailures: 0 } } });
  });
});

describe('TokenCacheHealthIndicator during an IdP outage: serving-stale, then failing (issue 11)', () => {
  it('fake clock: past the skew with refreshes failing, up and serving-stale with the last error; down only once nothing is left to serve', async () => {
    const clock = new FakeClock();
    const api = switchableSource();
    running = await bootObservedApp(TokenCacheModule.forRoot({ sources: { api }, clock, random: () => 0.5 }));
    const cache = running.app.get(TokenCacheService);
    await cache.getToken('api'); // 600 s token: skew 30 s (usable to 570 s), served while failing to 599 s
    api.failWith = new TokenFetchError('The identity provider answered HTTP 503', { status: 503 });

    clock.advance(575_000); // past the skew: the fetch fails, the caller still gets the token
    await expect(cache.getToken('api')).resolves.toBe('token-1');
    let res = await running.get('/health');
    expect(res.status).toBe(200);
    expect(res.body.info['token-cache']).toMatchObject({ status: 'up' });
    expect(res.body.info['token-cache'].sources.api).toEqual({
      state: 'serving-stale',
      expiresInMs: 25_000,
      consecutiveFailures: 1,
      lastError: { name: 'TokenFetchError', message: 'The identity provider answered HTTP 503', at: expect.any(String) },
    });
    // Retried once a second meanwhile, each failure counted; still up while the token is served.
    clock.advance(1_000);
    await expect(cache.getToken('api')).resolves.toBe('token-1');
    await flush();
    res = await running.get('/health');
    expect(res.status).toBe(200);
    expect(res.body.info['token-cache'].sources.api).toMatchObject({ state: 'serving-stale', expiresInMs: 24_000, consecutiveFailures: 2 });

    // Within the transit margin of the real expiry: nothing left to serve, fetches fail: down.
    clock.advance(23_500);
    await expect(cache.getToken('api')).rejects.toThrow(TokenFetchError);
    res = await running.get('/health');
    expect(res.status).toBe(503);
    expect(res.body.error['token-cache'].sources.api).toMatchObject({ state: 'failing', consecutiveFailures: 3 });

    // The IdP is back: the next caller (within a second) fetches, health is up and valid.
    api.failWith = undefined;
    clock.advance(1_000);
    await expect(cache.getToken('api')).resolves.toBe('token-5');
    res = await running.get('/health');
    expect(res.status).toBe(200);
    expect(res.body.info['token-cache'].sources.api).toMatchObject({ state: 'valid', consecutiveFailures: 0 });
  });

  it('a real IdP answering 503: /health stays 200 (serving-stale) while the held token is served, 503 after its expiry, 200 after recovery', async () => {
    const { startMockIdp } = await import('./support/mock-idp.js');
    const { clientCredentials } = await import('nestjs-token-cache');
    const idp = await startMockIdp({ expiresIn: 3600 });
    try {
      const clock = new FakeClock();
      const api = clientCredentials({ tokenUrl: idp.tokenUrl, clientId: 'svc', clientSecret: 'svc-secret' });
      running = await bootObservedApp(TokenCacheModule.forRoot({ sources: { api }, clock, random: () => 0.5 }));
      const cache = running.app.get(TokenCacheService);
      const token = await cache.getToken('api');
      idp.failWith = { status: 503, body: { error: 'temporarily_unavailable' } };

      clock.advance(3_575_000); // 25 s before the real expiry, past the 30 s skew
      await expect(cache.getToken('api')).resolves.toBe(token);
      expect(idp.tokenRequests).toBe(2); // the failed fetch did reach the IdP
      let res = await running.get('/health');
      expect(res.status).toBe(200);
      expect(res.body.info['token-cache'].sources.api).toMatchObject({
        state: 'serving-stale',
        expiresInMs: 25_000,
        consecutiveFailures: 1,
        lastError: { name: 'TokenFetchError' },
      });
      expect(res.text).not.toContain(token);
      expect(res.text).not.toContain('svc-secret');
      expect(idp.tokenRequests).toBe(2); // health never fetches

      clock.advance(25_000); // the real expiry: nothing to serve, the fetch fails
      await expect(cache.getToken('api')).rejects.toThrow(TokenFetchError);
      res = await running.get('/health');
      expect(res.status).toBe(503);
      expect(res.body.error['token-cache'].sources.api).toMatchObject({ state: 'failing', consecutiveFailures: 2 });

      idp.failWith = undefined;
      clock.advance(1_000);
      const fresh = await cache.getToken('api');
      expect(idp.tokenRequests).toBe(4);
      await idp.verify(fresh);
      res = await running.get('/health');
      expect(res.status).toBe(200);
      expect(res.body.info['token-cache'].sources.api).toMatchObject({ state: 'valid', consecutiveFailures: 0 });
    } finally {
      await idp.close();
    }
  });
});
