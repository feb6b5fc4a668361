import { afterEach, describe, expect, it } from 'vitest';
import { TOKEN_CACHE_METRICS as M, TokenCacheModule, TokenCacheService, TokenFetchError, type TokenCacheEvent } from 'nestjs-token-cache';
import { FakeClock, flush } from '../libs/token-cache/src/core/testing/fake-clock.js';
import { testMetrics, type TestMetrics } from '../libs/token-cache/src/core/testing/metric-reader.js';
import { bootObservedApp, switchableSource, type ObservedApp } from './support/observed-app.js';

let running: ObservedApp | undefined;
let otel: TestMetrics | undefined;
afterEach(async () => {
  await running?.close();
  await otel?.shutdown();
  running = undefined;
  otel = undefined;
});

describe('events, logs and metrics in a Nest app', () => {
  it('events$ carries every event type, with durationMs on fetches and a typed error on failures', async () => {
    const clock = new FakeClock();
    const api = switchableSource();
    const other = switchableSource();
    running = await bootObservedApp(TokenCacheModule.forRoot({ sources: { api, other }, clock, random: () => 0.5, maxEntries: 2 }));
    const cache = running.app.get(TokenCacheService);
    const events: TokenCacheEvent[] = [];
    cache.events$.subscribe((e) => events.push(e));

    await cache.getToken('api'); // fetched
    await cache.refresh('api'); // refreshed
    api.failWith = new TokenFetchError('The identity provider answered HTTP 500', { status: 500 });
    await cache.getToken('api', { subject: 's1' }).catch(() => undefined); // fetch_failed
    api.failWith = undefined;
    await cache.invalidate('api'); // invalidated
    await cache.getToken('api', { subject: 's2' }); // fetched
    await cache.getToken('other'); // fetched
    await cache.getToken('api', { subject: 's3' }); // storing it evicts s2, then fetched
    clock.advance(3_600_000);
    await cache.removeExpired(); // expired x2
    await cache.clear(); // cleared

    expect(events.map((e) => e.type)).toEqual(['fetched', 'refreshed', 'fetch_failed', 'invalidated', 'fetched', 'fetched', 'evicted', 'fetched', 'expired', 'expired', 'cleared']);
    for (const e of events.filter((e) => ['fetched', 'refreshed', 'fetch_failed'].includes(e.type))) expect(e.durationMs).toEqual(expect.any(Number));
    expect(events[2]).toMatchObject({ type: 'fetch_failed', source: 'api', key: 'api|sub=s1', at: expect.any(Date), error: { name: 'TokenFetchError', message: 'The identity provider answered HTTP 500' } });
    expect(events[6]).toMatchObject({ type: 'evicted', source: 'api', key: 'api|sub=s2' });
    expect(events[10]).toMatchObject({ type: 'cleared', source: '*', key: '*' });
  });

  it('logs through Nest\'s Logger: fetches at debug, a failure at warn, a source that keeps failing at error, the recovery at log', async () => {
    const clock = new FakeClock();
    const api = switchableSource();
    running = await bootObservedApp(TokenCacheModule.forRoot({ sources: { api }, clock, random: () => 0.5 }));
    const cache = running.app.get(TokenCacheService);
    await cache.getToken('api', { subject: 'a' });
    api.failWith = new TokenFetchError('The identity provider answered HTTP 503', { status: 503 });
    for (let i = 0; i < 4; i++) {
      await cache.getToken('api').catch(() => undefined);
      clock.advance(60_000); // past any backoff
    }
    api.failWith = undefined;
    await cache.getToken('api');
    const lines = running.logger.tokenCache().filter((l) => l.level !== 'log' || /recovered/.test(l.message));
    expect(lines.map((l) => l.level)).toEqual(['debug', 'warn', 'warn', 'error', 'error', 'log', 'debug']);
    expect(lines[0]!.message).toMatch(/^Token fetched for source "api" \(api\|sub=a\) in \d+ ms$/);
    expect(lines[1]!.message).toMatch(/source "api".*failed \(1 in a row; retry in \d+ ms\): TokenFetchError: The identity provider answered HTTP 503/);
    expect(lines[3]!.message).toMatch(/3 in a row/);
    expect(lines[5]!.message).toBe('Token source "api" recovered after 4 failed fetch(es)');
  });

  it('metrics go to the meterProvider given in forRoot, with source and outcome attributes only', async () => {
    otel = testMetrics();
    const clock = new FakeClock();
    const api = switchableSource();
    running = await bootObservedApp(TokenCacheModule.forRoot({ sources: { api }, clock, random: () => 0.5, meterProvider: otel.meterProvider }));
    const cache = running.app.get(TokenCacheService);
    await cache.getToken('api', { subject: 'alice@example.com' });
    await cache.getToken('api', { subject: 'alice@example.com' });
    api.failWith = new Error('connect ECONNREFUSED');
    await cache.getToken('api').catch(() => undefined);
    await flush();
    const { points } = await otel.collect();
    expect(otel.value(points, M.hits, { source: 'api' })).toBe(1);
    expect(otel.value(points, M.misses, { source: 'api' })).toBe(2);
    expect(otel.value(points, M.fetches, { source: 'api' })).toBe(2);
    expect(otel.value(points, M.fetchFailures, { source: 'api' })).toBe(1);
    expect(otel.value(points, M.fetchDuration, { source: 'api', outcome: 'success' })).toBe(1);
    expect(otel.value(points, M.fetchDuration, { source: 'api', outcome: 'failure' })).toBe(1);
    expect(otel.value(points, M.entries)).toBe(1);
    const text = JSON.stringify(points);
    expect(text).not.toContain('alice');
    expect(text).not.toContain('token-1');
    await running.close();
    running = undefined;
    // After app.close() the cache is no longer observed: collecting still works and reports no new values.
    await expect(otel.collect()).resolves.toBeDefined();
  });
});
