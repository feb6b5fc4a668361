// What happens around the edges: a failing store, clear() and close() during a fetch, a watched source
// changing, and failure bookkeeping under many failing keys.
import { describe, expect, it } from 'vitest';
import { MemoryTokenStore } from './memory-token-store.js';
import type { TokenSource } from './sources/token-source.interface.js';
import { flush } from './testing/fake-clock.js';
import { harness } from './testing/harness.js';
import { ScriptedSource } from './testing/scripted-source.js';
import { TokenFetchError } from './token-cache.errors.js';
import type { StoredToken } from './token-store.interface.js';

class BrokenStore extends MemoryTokenStore {
  failSet = false;
  failGet = false;
  override set(key: string, token: StoredToken): Promise<void> {
    return this.failSet ? Promise.reject(new Error('store down')) : super.set(key, token);
  }
  override get(key: string): Promise<StoredToken | undefined> {
    return this.failGet ? Promise.reject(new Error('store down')) : super.get(key);
  }
}

describe('a store that fails', () => {
  it('still hands a fetched token to its callers, and it is no fetch failure', async () => {
    const store = new BrokenStore();
    store.failSet = true;
    store.failGet = true;
    const { cache, events } = harness({ store });
    expect(await cache.getToken('api')).toBe('token-1');
    expect(cache.stats()).toMatchObject({ fetches: 1, fetchFailures: 0 });
    expect(events.map((e) => e.type)).toEqual(['fetched']);
    store.failSet = false;
    expect(await cache.getToken('api')).toBe('token-2'); // nothing was kept, so it fetches, without backoff
  });
});

describe('clear() during a fetch', () => {
  it('callers after the clear start their own fetch instead of joining the old one', async () => {
    const { cache, source } = harness();
    source.manual = true;
    const before = cache.getToken('api');
    await flush();
    await cache.clear();
    const after = cache.getToken('api');
    await flush();
    expect(source.count).toBe(2);
    source.pending[0]!.resolve({ accessToken: 'stale', expiresIn: 60 });
    source.pending[1]!.resolve({ accessToken: 'fresh', expiresIn: 60 });
    expect(await before).toBe('stale');
    expect(await after).toBe('fresh');
    expect(cache.peek('api')?.accessToken).toBe('fresh');
  });
});

describe('close() during a fetch', () => {
  it('aborts the fetch: the caller gets a TokenFetchError and the source its abort signal', async () => {
    const { cache, source } = harness();
    source.manual = true;
    const result = cache.getToken('api').catch((e: Error) => e);
    await flush();
    await cache.close();
    expect(source.pending[0]!.signal.aborted).toBe(true);
    expect(await result).toMatchObject({ name: 'TokenFetchError', message: expect.stringContaining('closed') });
  });

  it('is no failure of the source: nothing logged as failed, no retry announced, no fetch_failed event; a debug line says it stopped', async () => {
    const lines: [string, string][] = [];
    const logger = { log: (m: string) => lines.push(['log', m]), warn: (m: string) => lines.push(['warn', m]), error: (m: string) => lines.push(['error', m]), debug: (m: string) => lines.push(['debug', m]) };
    const { cache, source, events } = harness({ logger });
    source.manual = true;
    const result = cache.getToken('api').catch((e: Error) => e);
    await flush();
    await cache.close();
    expect(await result).toMatchObject({ name: 'TokenFetchError' });
    await flush();
    expect(lines.filter(([level]) => level === 'warn' || level === 'error')).toEqual([]);
    expect(lines.some(([, m]) => /retry in/.test(m))).toBe(false);
    expect(lines).toContainEqual(['debug', expect.stringMatching(/Token fetch for source "api" \(.+\) stopped: the cache was closed/)]);
    expect(events.map((e) => e.type)).not.toContain('fetch_failed');
    expect(cache.stats().fetchFailures).toBe(0);
  });
});

describe('a watched source that changes', () => {
  function watchedSource() {
    const inner = new ScriptedSource();
    let notify: () => void = () => undefined;
    const source: TokenSource & { inner: ScriptedSource; change(): void } = {
      kind: 'file',
      inner,
      fetchToken: (request, context) => inner.fetchToken(request, context),
      watch(onChange) {
        notify = onChange;
        return () => (notify = () => undefined);
      },
      change: () => notify(),
    };
    return source;
  }

  it('ends the backoff of a key whose fetch failed before the change (a file that was missing)', async () => {
    const source = watchedSource();
    const { cache } = harness({ sources: { file: source } }, []);
    source.inner.reply = () => {
      throw new Error('ENOENT');
    };
    await expect(cache.getToken('file')).rejects.toThrow();
    await expect(cache.getToken('file')).rejects.toThrow(); // backing off: answered without a fetch
    expect(source.inner.count).toBe(1);
    source.inner.reply = () => ({ accessToken: 'from-file', expiresIn: 3600 });
    source.change();
    expect(await cache.getToken('file')).toBe('from-file');
  });

  it('fetches again after a fetch that was in flight when the content changed', async () => {
    const source = watchedSource();
    const { cache } = harness({ sources: { file: source } }, []);
    await cache.getToken('file');
    source.inner.manual = true;
    const refreshing = cache.refresh('file'); // reads the old content...
    await flush();
    source.change(); // ...while the file changes
    source.inner.pending[0]!.resolve({ accessToken: 'old-content', expiresIn: 3600 });
    expect(await refreshing).toBe('old-content');
    await flush();
    expect(source.inner.count).toBe(3);
    source.inner.pending[1]!.resolve({ accessToken: 'new-content', expiresIn: 3600 });
    await flush();
    expect(cache.peek('file')?.accessToken).toBe('new-content');
  });
});

describe('failure bookkeeping', () => {
  it('is bounded by maxEntries: the oldest failing key is forgotten (and may try again at once)', async () => {
    const { cache, source } = harness({ maxEntries: 2 });
    source.reply = () => {
      throw new Error('down');
    };
    for (const subject of ['a', 'b', 'c']) await expect(cache.getToken('api', { subject })).rejects.toThrow();
    expect(source.count).toBe(3);
    await expect(cache.getToken('api', { subject: 'c' })).rejects.toThrow(); // still backing off
    expect(source.count).toBe(3);
    await expect(cache.getToken('api', { subject: 'a' })).rejects.toThrow(); // forgotten: fetches again
    expect(source.count).toBe(4);
  });
});

describe('a logger that throws', () => {
  it('loses its lines, never the callers\' typed error, a token or the backoff', async () => {
    const boom = () => {
      throw new Error('logger boom');
    };
    const logger = { warn: boom, error: boom, log: boom, debug: boom };
    const { cache, source, clock } = harness({ logger });
    source.reply = () => Promise.reject(new TokenFetchError('idp down', { source: 'api', retryable: true }));
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => cache.getToken('api')));
    for (const r of results) expect(r).toMatchObject({ status: 'rejected', reason: { name: 'TokenFetchError' } });
    expect(source.count).toBe(1);
    clock.advance(1_000);
    source.reply = (_r, n) => ({ accessToken: `token-${n}`, expiresIn: 3600 });
    expect(await cache.getToken('api')).toBe('token-2');
    expect(cache.stats()).toMatchObject({ fetchFailures: 1 });
  });

  it('an async logger that rejects leaves no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const reject = () => Promise.reject(new Error('async logger boom'));
      const { cache, source } = harness({ logger: { warn: reject, error: reject, debug: reject } });
      source.reply = () => Promise.reject(new TokenFetchError('idp down', { source: 'api', retryable: true }));
      await expect(cache.getToken('api')).rejects.toMatchObject({ name: 'TokenFetchError' });
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
