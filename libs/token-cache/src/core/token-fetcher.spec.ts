import { describe, expect, it } from 'vitest';
import { InFlight } from './in-flight.js';
import { KeyFailures } from './key-failures.js';
import { MemoryTokenStore } from './memory-token-store.js';
import { SourceRegistry } from './source-registry.js';
import { SourceStates } from './source-states.js';
import { memoTiming } from './timing-memo.js';
import { TokenFetchError } from './token-cache.errors.js';
import { TokenCacheMetrics } from './token-cache.metrics.js';
import { resolveTokenCacheOptions } from './token-cache.options.js';
import type { TokenCacheEvent } from './token-cache.types.js';
import { TokenFetcher } from './token-fetcher.js';
import { FakeClock, flush } from './testing/fake-clock.js';
import { ScriptedSource } from './testing/scripted-source.js';

function setup(reply?: ConstructorParameters<typeof ScriptedSource>[0]) {
  const clock = new FakeClock();
  const source = new ScriptedSource(reply);
  const logs: string[] = [];
  const logger = { warn: (m: string) => logs.push(`warn ${m}`), error: (m: string) => logs.push(`error ${m}`), log: (m: string) => logs.push(`log ${m}`) };
  const options = resolveTokenCacheOptions({ sources: { api: source }, logger }, clock);
  const store = new MemoryTokenStore({ maxEntries: 10 });
  const sources = new SourceRegistry(options.sources, 10);
  const events: TokenCacheEvent[] = [];
  const inFlight = new InFlight();
  const failures = new KeyFailures(10, () => 0.5);
  const sourceStates = new SourceStates();
  const timing = { expirySkewMs: options.expirySkewMs, refreshBeforeExpiryMs: options.refreshBeforeExpiryMs };
  const fetcher = new TokenFetcher({
    options,
    store,
    clock,
    sources,
    failures,
    inFlight,
    sourceStates,
    metrics: new TokenCacheMetrics(undefined, { counters: new Map(), size: () => 0, inFlight: () => 0 }),
    timingOf: (token) => memoTiming(token, timing),
    emit: (type, src, key, extra) => events.push({ type, source: src, key, at: clock.date(), ...extra }),
  });
  const key = sources.keyOf('api', undefined);
  return { clock, source, store, sources, events, inFlight, failures, sourceStates, fetcher, key, logs };
}

describe('TokenFetcher', () => {
  it('fetches, stores, counts and emits; a success after failures is logged once as recovered', async () => {
    const s = setup((_r, n) => (n === 1 ? Promise.reject(new Error('down')) : { accessToken: `tok-${n}`, expiresIn: 60 }));
    await expect(s.fetcher.fetch(s.key, { source: 'api' }, 'fetched', () => true)).rejects.toBeInstanceOf(TokenFetchError);
    expect(s.failures.get(s.key)?.failures).toBe(1);
    expect(s.sourceStates.facts('api').consecutiveFailures).toBe(1);
    expect(s.logs[0]).toMatch(/^warn .*failed \(1 in a row; retry in \d+ ms\)/);
    const token = await s.fetcher.fetch(s.key, { source: 'api' }, 'fetched', () => true);
    expect(token.accessToken).toBe('tok-2');
    expect(s.store.peek(s.key)?.accessToken).toBe('tok-2');
    expect(s.failures.get(s.key)).toBeUndefined();
    expect(s.sources.get('api').counters).toMatchObject({ fetches: 2, fetchFailures: 1 });
    expect(s.events.map((e) => e.type)).toEqual(['fetch_failed', 'fetched']);
    expect(s.logs[1]).toBe('log Token source "api" recovered after 1 failed fetch(es)');
  });

  it('a fetch that started before a clear answers but stores nothing', async () => {
    const s = setup();
    s.source.manual = true;
    const fetching = s.fetcher.fetch(s.key, { source: 'api' }, 'fetched', () => true);
    await flush();
    s.fetcher.cleared('api');
    s.source.pending[0]!.resolve({ accessToken: 'late', expiresIn: 60 });
    expect((await fetching).accessToken).toBe('late');
    expect(s.store.peek(s.key)).toBeUndefined();
  });

  it('a failure echoing a cached token or a source secret is redacted before anyone sees it', async () => {
    const s = setup(() => Promise.reject(new Error('IdP echoed tok-cached')));
    await s.store.set(s.key, { accessToken: 'tok-cached', tokenType: 'Bearer', receivedAt: s.clock.now(), expiresAt: s.clock.now() + 60_000, source: 'api' });
    const error = (await s.fetcher.fetch(s.key, { source: 'api' }, 'refreshed', () => true).catch((e: Error) => e)) as Error;
    expect(error.message).not.toContain('tok-cached');
    expect(JSON.stringify(s.events)).not.toContain('tok-cached');
    expect(s.logs.join('\n')).not.toContain('tok-cached');
  });

  it('start() is the fetch callers of the key join; close() stops it', async () => {
    const s = setup();
    s.source.manual = true;
    const fetching = s.fetcher.start(s.key, { source: 'api' }, 'fetched', () => true);
    expect(s.inFlight.get(s.key)).toBe(fetching);
    await flush();
    s.fetcher.close();
    await expect(fetching).rejects.toThrow(/closed/);
    expect(s.fetcher.isClosed).toBe(true);
  });

  it('sourceChanged() refetches each entry of the source at once, and after the fetch in flight', async () => {
    const s = setup();
    await s.fetcher.fetch(s.key, { source: 'api' }, 'fetched', () => true);
    s.fetcher.sourceChanged('api');
    await flush();
    expect(s.source.count).toBe(2);
    expect(s.store.peek(s.key)?.accessToken).toBe('token-2');
    s.source.manual = true;
    const running = s.fetcher.start(s.key, { source: 'api' }, 'refreshed', () => true);
    s.fetcher.sourceChanged('api');
    await flush();
    expect(s.source.count).toBe(3);
    s.source.pending[0]!.resolve({ accessToken: 'read-before-change', expiresIn: 60 });
    await running;
    await flush();
    expect(s.source.count).toBe(4);
  });
});
