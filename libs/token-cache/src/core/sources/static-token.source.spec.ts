import { inspect } from 'node:util';
import { staticToken, TokenCache, TokenCacheConfigError, type TokenCacheEvent } from 'nestjs-token-cache/core';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../testing/fake-clock.js';

const ctx = () => ({ signal: new AbortController().signal, clock: new FakeClock() });

describe('staticToken', () => {
  it('answers every fetch with the token, its type and lifetime', async () => {
    const source = staticToken('api-key-123', { tokenType: 'Bearer', expiresIn: 60 });
    expect(source.kind).toBe('static');
    expect(await source.fetchToken({ source: 'api' }, ctx())).toEqual({ accessToken: 'api-key-123', tokenType: 'Bearer', expiresIn: 60 });
    expect(await source.fetchToken({ source: 'api', subject: 'u1' }, ctx())).toMatchObject({ accessToken: 'api-key-123' });
  });

  it('through the cache: Bearer by default, expiresIn in seconds, the same token again after expiry', async () => {
    const clock = new FakeClock();
    const cache = new TokenCache({ clock, sources: { api: staticToken('k1', { expiresIn: 120 }) } });
    const cached = await cache.getCachedToken('api');
    expect(cached).toMatchObject({ accessToken: 'k1', tokenType: 'Bearer' });
    expect(cached.expiresAt.getTime()).toBe(clock.now() + 120_000);
    clock.advance(121_000);
    expect(cache.peek('api')).toBeUndefined();
    expect(await cache.getToken('api')).toBe('k1');
    expect(cache.stats()).toMatchObject({ fetches: 2, misses: 2 });
    await cache.close();
  });

  it('without expiresIn: the cache default lifetime', async () => {
    const clock = new FakeClock();
    const cache = new TokenCache({ clock, defaultTtlMs: 90_000, sources: { api: staticToken('k1') } });
    expect((await cache.getCachedToken('api')).expiresAt.getTime()).toBe(clock.now() + 90_000);
    await cache.close();
  });

  it.each([
    ['empty', '', 'staticToken'],
    ['blank', '   ', 'staticToken'],
    ['not a string', 42, 'staticToken'],
    ['undefined', undefined, 'staticToken'],
  ])('a token that is %s is a TokenCacheConfigError naming staticToken', (_label, token, option) => {
    const error = (() => {
      try {
        staticToken(token as string);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(TokenCacheConfigError);
    expect((error as TokenCacheConfigError).option).toBe(option);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, '60', null])('expiresIn %s is a TokenCacheConfigError naming staticToken.expiresIn', (expiresIn) => {
    expect(() => staticToken('k', { expiresIn: expiresIn as number })).toThrow(
      expect.objectContaining({ name: 'TokenCacheConfigError', option: 'staticToken.expiresIn' }),
    );
  });

  it.each(['', 7])('tokenType %j is a TokenCacheConfigError naming staticToken.tokenType', (tokenType) => {
    expect(() => staticToken('k', { tokenType: tokenType as string })).toThrow(
      expect.objectContaining({ name: 'TokenCacheConfigError', option: 'staticToken.tokenType' }),
    );
  });

  it('options that are not an object are a TokenCacheConfigError', () => {
    expect(() => staticToken('k', 'Bearer' as never)).toThrow(TokenCacheConfigError);
  });

  it('the token is a secret: not in entries, stats, events, errors of a later failure, or inspect', async () => {
    const secret = 'static-SECRET-value-9f3a';
    const cache = new TokenCache({ sources: { api: staticToken(secret, { expiresIn: 60 }) } });
    const events: TokenCacheEvent[] = [];
    cache.events$.subscribe((e) => events.push(e));
    await cache.getToken('api');
    await cache.refresh('api');
    const outputs = [JSON.stringify(cache.entries()), JSON.stringify(cache.stats()), JSON.stringify(events), inspect(staticToken(secret), { depth: 5 })];
    for (const out of outputs) {
      expect(out).not.toContain(secret);
      expect(out).not.toContain(Buffer.from(secret).toString('base64'));
    }
    await cache.close();
  });
});
