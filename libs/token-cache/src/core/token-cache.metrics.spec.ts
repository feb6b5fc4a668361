import { metrics } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { TokenCacheConfigError } from './token-cache.errors.js';
import { TOKEN_CACHE_METER_NAME, TOKEN_CACHE_METRICS as M } from './token-cache.metrics.js';
import { harness } from './testing/harness.js';
import { testMetrics, type TestMetrics } from './testing/metric-reader.js';
import { flush } from './testing/fake-clock.js';
import { TokenCache } from './token-cache.js';
import { tokenFunction } from './sources/token-function.source.js';

let otel: TestMetrics | undefined;
afterEach(async () => {
  await otel?.shutdown();
  otel = undefined;
  metrics.disable();
});

describe('metrics', () => {
  it('counts hits, misses and fetches per source, with the meter named after the package', async () => {
    otel = testMetrics();
    const { cache } = harness({ meterProvider: otel.meterProvider }, ['api', 'other']);
    await cache.getToken('api');
    await cache.getToken('api');
    await cache.getToken('api', { subject: 'alice' });
    await cache.getToken('other');
    const { points, scopes } = await otel.collect();
    expect(scopes).toEqual([{ name: TOKEN_CACHE_METER_NAME, version: expect.stringMatching(/^\d+\.\d+\.\d+/) }]);
    expect(otel.value(points, M.hits, { source: 'api' })).toBe(1);
    expect(otel.value(points, M.misses, { source: 'api' })).toBe(2);
    expect(otel.value(points, M.fetches, { source: 'api' })).toBe(2);
    expect(otel.value(points, M.misses, { source: 'other' })).toBe(1);
    expect(otel.value(points, M.hits, { source: 'other' })).toBe(0);
    expect(otel.value(points, M.entries)).toBe(3);
    expect(otel.value(points, M.inFlight)).toBe(0);
    // The subject never becomes an attribute.
    expect(JSON.stringify(points)).not.toContain('alice');
    expect(new Set(points.flatMap((p) => Object.keys(p.attributes)))).toEqual(new Set(['source', 'outcome']));
  });

  it('records fetch durations in seconds with the outcome, and counts failures, refreshes ahead, invalidations, evictions and expired removals', async () => {
    otel = testMetrics();
    const { cache, source, clock } = harness({ meterProvider: otel.meterProvider, maxEntries: 2, refreshBeforeExpiryMs: 60_000 });
    source.manual = true;
    const first = cache.getToken('api');
    await flush();
    clock.advance(200);
    source.pending[0]!.resolve({ accessToken: 't1', expiresIn: 600 });
    await first;

    const failed = cache.getToken('api', { subject: 'x' }).catch(() => undefined);
    await flush();
    clock.advance(50);
    source.pending[1]!.reject(new Error('boom'));
    await failed;

    clock.advance(560_000); // into the refresh window of t1
    await cache.getToken('api');
    await flush();
    source.pending[2]!.resolve({ accessToken: 't2', expiresIn: 600 });
    await flush();

    await cache.invalidate('api');
    source.manual = false;
    source.reply = (_r, n) => ({ accessToken: `t${n}`, expiresIn: 10 });
    await cache.getToken('api', { subject: 'a' });
    await cache.getToken('api', { subject: 'b' });
    await cache.getToken('api', { subject: 'c' }); // evicts the least recently used
    clock.advance(60_000);
    await cache.removeExpired();

    const { points } = await otel.collect();
    const duration = points.filter((p) => p.name === M.fetchDuration);
    expect(duration.every((p) => p.unit === 's')).toBe(true);
    const ok = duration.find((p) => p.attributes.outcome === 'success')!;
    const bad = duration.find((p) => p.attributes.outcome === 'failure')!;
    expect(ok).toMatchObject({ attributes: { source: 'api', outcome: 'success' }, value: 5 });
    expect(ok.sum).toBeCloseTo(0.2, 5);
    expect(bad).toMatchObject({ attributes: { source: 'api', outcome: 'failure' }, value: 1 });
    expect(bad.sum).toBeCloseTo(0.05, 5);
    expect(otel.value(points, M.fetchFailures, { source: 'api' })).toBe(1);
    expect(otel.value(points, M.refreshesAhead, { source: 'api' })).toBe(1);
    expect(otel.value(points, M.invalidations, { source: 'api' })).toBe(1);
    expect(otel.value(points, M.evictions, { source: 'api' })).toBe(1);
    expect(otel.value(points, M.expiredRemoved, { source: 'api' })).toBe(2);
    expect(otel.value(points, M.fetches, { source: 'api' })).toBe(6);
    // The per-source counters add up to the cache's own stats.
    const stats = cache.stats();
    expect(stats).toMatchObject({ fetches: 6, fetchFailures: 1, refreshesAhead: 1, invalidations: 1, evictions: 1, expiredRemoved: 2 });
    expect(JSON.stringify(points)).not.toMatch(/"t\d"/);
  });

  it('uses the global meter provider by default, and a closed cache is no longer observed', async () => {
    otel = testMetrics('delta');
    metrics.setGlobalMeterProvider(otel.meterProvider);
    const cache = new TokenCache({ sources: { api: tokenFunction(() => 'x') } });
    await cache.getToken('api');
    expect(otel.value((await otel.collect()).points, M.misses, { source: 'api' })).toBe(1);
    await cache.close();
    expect((await otel.collect()).points.filter((p) => p.name === M.entries)).toEqual([]);
  });

  it('costs nothing and fails nothing without an SDK', async () => {
    const cache = new TokenCache({ sources: { api: tokenFunction(() => 'x') } });
    await expect(cache.getToken('api')).resolves.toBe('x');
    await cache.close();
  });

  it('rejects a meterProvider that is not one', () => {
    expect(() => new TokenCache({ sources: {}, meterProvider: {} as never })).toThrow(TokenCacheConfigError);
    expect(() => new TokenCache({ sources: {}, meterProvider: {} as never })).toThrow(/meterProvider/);
  });
});
