import { describe, expect, it } from 'vitest';
import { tokenFunction } from './sources/token-function.source.js';
import { harness } from './testing/harness.js';

describe('stats and events', () => {
  it('counts hits, misses and fetches; hitRate is 0 before any call', async () => {
    const { cache } = harness();
    expect(cache.stats()).toEqual({
      size: 0,
      hits: 0,
      misses: 0,
      hitRate: 0,
      fetches: 0,
      fetchFailures: 0,
      refreshesAhead: 0,
      invalidations: 0,
      evictions: 0,
      expiredRemoved: 0,
      inFlight: 0,
    });
    await cache.getToken('api');
    await cache.getToken('api');
    await cache.getToken('api');
    cache.peek('api');
    expect(cache.stats()).toMatchObject({ size: 1, hits: 2, misses: 1, hitRate: 2 / 3, fetches: 1 });
  });

  it('emits fetched with a duration, and fetch_failed with the typed error name', async () => {
    const { cache, source, clock, events } = harness();
    source.manual = true;
    const p = cache.getToken('api');
    await new Promise((r) => setImmediate(r));
    clock.advance(250);
    source.pending[0]!.resolve({ accessToken: 'a', expiresIn: 60 });
    await p;
    expect(events[0]).toEqual({ type: 'fetched', source: 'api', key: 'api', at: new Date(clock.now()), durationMs: 250 });
    const p2 = cache.getToken('api', { subject: 'x' }).catch(() => undefined);
    await new Promise((r) => setImmediate(r));
    source.pending[1]!.reject(new Error('connect ECONNREFUSED 127.0.0.1:1'));
    await p2;
    expect(events[1]).toMatchObject({ type: 'fetch_failed', source: 'api', key: 'api|sub=x', error: { name: 'TokenFetchError', message: expect.stringContaining('ECONNREFUSED') } });
  });

  it('keeps tokens and known secrets out of error messages, events and logs', async () => {
    const lines: string[] = [];
    const logger = { debug: (m: string) => lines.push(m), warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) };
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXZhbHVl';
    const source = {
      ...tokenFunction(() => {
        throw new Error(`login failed for key hunter2-api-key with Bearer abc.def and ${jwt}`);
      }),
      secrets: () => ['hunter2-api-key'],
    };
    const { cache, events } = harness({ sources: { api: source }, logger });
    const error = (await cache.getToken('api').catch((e: Error) => e)) as Error;
    const everything = JSON.stringify([error.message, events, lines, cache.stats(), cache.entries(), cache.sourceStatus('api')]);
    for (const secret of ['hunter2-api-key', 'abc.def', jwt]) expect(everything).not.toContain(secret);
    expect(error.message).toContain('[redacted]');
  });

  it('logs a failure at warn, and at error once a source keeps failing', async () => {
    const warn: string[] = [];
    const errors: string[] = [];
    const { cache, source, clock } = harness({ logger: { warn: (m) => warn.push(m), error: (m) => errors.push(m) } });
    source.reply = () => {
      throw new Error('down');
    };
    for (let i = 0; i < 4; i++) {
      await cache.getToken('api').catch(() => undefined);
      clock.advance(60_000);
    }
    expect(warn).toHaveLength(2);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toContain('3 in a row');
  });

  it('reports per-source status for health checks', async () => {
    const { cache, source, clock } = harness({}, ['api', 'idle']);
    expect(cache.sourceStatus('api')).toEqual({ state: 'unused', consecutiveFailures: 0 });
    await cache.getToken('api');
    expect(cache.sourceStatus('api')).toEqual({ state: 'valid', expiresInMs: 3_600_000, consecutiveFailures: 0 });
    source.reply = () => {
      throw new Error('down');
    };
    clock.advance(3_390_000); // the adaptive refresh window of a 1 h token starts 3.5 min before expiry
    await cache.getToken('api');
    await new Promise((r) => setImmediate(r));
    expect(cache.sourceStatus('api')).toMatchObject({ state: 'refresh-due', consecutiveFailures: 1, lastError: { name: 'TokenFetchError' } });
    clock.advance(210_000); // expired, also for serving through the outage
    await cache.getToken('api').catch(() => undefined);
    expect(cache.sourceStatus('api')).toMatchObject({ state: 'failing', consecutiveFailures: 2 });
    expect(cache.sourceStatus('idle').state).toBe('unused');
    expect(cache.isSourceUsed('api')).toBe(true);
    expect(cache.isSourceUsed('idle')).toBe(false);
  });
});
