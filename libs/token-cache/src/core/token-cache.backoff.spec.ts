import { describe, expect, it } from 'vitest';
import { TokenFetchError } from './token-cache.errors.js';
import { harness } from './testing/harness.js';

const fail = (error: Error = new TokenFetchError('IdP said 503', { status: 503 })) => () => {
  throw error;
};

describe('backoff after a failed fetch', () => {
  it('answers callers with the error at once while backing off, then lets the next caller try again', async () => {
    const { cache, source, clock } = harness();
    source.reply = fail();
    await expect(cache.getToken('api')).rejects.toMatchObject({ name: 'TokenFetchError', status: 503 });
    expect(source.count).toBe(1);

    // 1 s backoff: callers get the same error without touching the source.
    for (let i = 0; i < 5; i++) await expect(cache.getToken('api')).rejects.toMatchObject({ status: 503 });
    clock.advance(999);
    await expect(cache.getToken('api')).rejects.toThrow(TokenFetchError);
    expect(source.count).toBe(1);

    clock.advance(1);
    await expect(cache.getToken('api')).rejects.toThrow(TokenFetchError);
    expect(source.count).toBe(2);
    // API 0.2: with no usable token and a retryable failure (5xx), once per second, not doubling: a recovered
    // IdP is used within a second.
    clock.advance(999);
    await expect(cache.getToken('api')).rejects.toThrow();
    expect(source.count).toBe(2);
    source.reply = () => ({ accessToken: 'ok', expiresIn: 3600 });
    clock.advance(1);
    expect(await cache.getToken('api')).toBe('ok');
    expect(source.count).toBe(3);
  });

  it('retries a retryable failure (network, timeout, 5xx, 429) once per second while no token is held, however long it lasts', async () => {
    const { cache, source, clock } = harness({ random: () => 0.99 });
    source.reply = fail(new TokenFetchError('IdP said 502', { status: 502 }));
    for (let second = 0; second < 60; second++) {
      for (let i = 0; i < 10; i++) {
        await expect(cache.getToken('api')).rejects.toMatchObject({ status: 502 });
        clock.advance(100);
      }
    }
    expect(source.count).toBe(60); // one a second, never more
  });

  it('doubles up to 30 s with jitter from the injected random source for a non-retryable error', async () => {
    const { cache, source, clock } = harness({ random: () => 0 }); // -20 %
    source.reply = fail(new TokenFetchError('invalid_grant', { status: 400, oauthError: 'invalid_grant', retryable: false }));
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      await expect(cache.getToken('api')).rejects.toThrow();
      let waited = 0;
      const before = source.count;
      while (source.count === before) {
        clock.advance(100);
        waited += 100;
        await cache.getToken('api').catch(() => undefined);
      }
      waits.push(waited);
      clock.advance(0);
    }
    expect(waits).toEqual([800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]);
  });

  it('backs off per key: another key of the same source is not blocked', async () => {
    const { cache, source } = harness();
    source.reply = (r) => {
      if (r.subject === 'bad') throw new TokenFetchError('no', { status: 500 });
      return { accessToken: `for-${r.subject}`, expiresIn: 60 };
    };
    await expect(cache.getToken('api', { subject: 'bad' })).rejects.toThrow();
    expect(await cache.getToken('api', { subject: 'good' })).toBe('for-good');
  });

  it('backs off 1 s, 2 s, 4 s… after a non-retryable failure such as invalid_client (API 0.2: no longer 30 s at once)', async () => {
    const { cache, source, clock } = harness();
    source.reply = fail(new TokenFetchError('invalid_client', { status: 401, oauthError: 'invalid_client', retryable: false }));
    await expect(cache.getToken('api')).rejects.toMatchObject({ oauthError: 'invalid_client' });
    clock.advance(999);
    await expect(cache.getToken('api')).rejects.toThrow();
    expect(source.count).toBe(1);
    clock.advance(1);
    await expect(cache.getToken('api')).rejects.toThrow();
    expect(source.count).toBe(2);
    clock.advance(1_999);
    await expect(cache.getToken('api')).rejects.toThrow();
    expect(source.count).toBe(2);
    clock.advance(1);
    await expect(cache.getToken('api')).rejects.toThrow();
    expect(source.count).toBe(3);
  });

  it('treats a bad reply (TokenResponseError) like a refused request: doubling, not once per second', async () => {
    const { cache, source, clock } = harness();
    source.reply = () => ({ accessToken: 'x', expiresIn: -1 });
    await expect(cache.getToken('api')).rejects.toMatchObject({ name: 'TokenResponseError' });
    clock.advance(1_000);
    await expect(cache.getToken('api')).rejects.toMatchObject({ name: 'TokenResponseError' });
    clock.advance(1_000);
    await expect(cache.getToken('api')).rejects.toThrow();
    expect(source.count).toBe(2);
  });

  it('honours a Retry-After longer than the backoff', async () => {
    const { cache, source, clock } = harness();
    source.reply = fail(new TokenFetchError('slow down', { status: 429, retryAfterMs: 10_000 }));
    await expect(cache.getToken('api')).rejects.toThrow();
    clock.advance(9_999);
    await expect(cache.getToken('api')).rejects.toThrow();
    expect(source.count).toBe(1);
    clock.advance(1);
    await expect(cache.getToken('api')).rejects.toThrow();
    expect(source.count).toBe(2);
  });

  it('lets refresh() try at once, ignoring the backoff', async () => {
    const { cache, source } = harness();
    source.reply = fail();
    await expect(cache.getToken('api')).rejects.toThrow();
    source.reply = () => ({ accessToken: 'now', expiresIn: 60 });
    expect(await cache.refresh('api')).toBe('now');
    expect(await cache.getToken('api')).toBe('now');
  });

  it('a bad token response is never cached and counts as a failure', async () => {
    const { cache, source, events } = harness();
    source.reply = () => ({ accessToken: 'x', expiresIn: -3 });
    await expect(cache.getToken('api')).rejects.toMatchObject({ name: 'TokenResponseError' });
    expect(cache.entries()).toEqual([]);
    expect(cache.stats()).toMatchObject({ fetchFailures: 1, size: 0 });
    expect(events.at(-1)).toMatchObject({ type: 'fetch_failed', error: { name: 'TokenResponseError' } });
  });
});
