import { TokenCache, TokenFetchError, staticToken as coreStaticToken } from 'nestjs-token-cache/core';
import { FakeClock, TestTokenSource, flush, staticToken } from 'nestjs-token-cache/testing';
import { describe, expect, it } from 'vitest';

describe('nestjs-token-cache/testing', () => {
  it('re-exports the one staticToken of /core', () => {
    expect(staticToken).toBe(coreStaticToken);
  });

  describe('FakeClock', () => {
    it('starts at 2026-01-01Z, or at the given epoch ms or Date', () => {
      expect(new FakeClock().now()).toBe(Date.UTC(2026, 0, 1));
      expect(new FakeClock(5).now()).toBe(5);
      expect(new FakeClock(new Date(1_000)).date()).toEqual(new Date(1_000));
      expect(() => new FakeClock(Number.NaN)).toThrow(RangeError);
    });

    it('advance(ms) runs due timers in time order, each at its own time, and not the others', () => {
      const clock = new FakeClock(0);
      const ran: string[] = [];
      clock.setTimeout(() => ran.push(`b@${clock.now()}`), 20);
      clock.setTimeout(() => ran.push(`a@${clock.now()}`), 10);
      const c = clock.setTimeout(() => ran.push('c'), 15);
      clock.setTimeout(() => ran.push('late'), 100);
      clock.clearTimeout(c);
      clock.advance(50);
      expect(ran).toEqual(['a@10', 'b@20']);
      expect(clock.now()).toBe(50);
      expect(clock.pending).toBe(1);
      clock.set(100);
      expect(ran).toContain('late');
    });

    it('a timer set by a timer runs within the same advance when due', () => {
      const clock = new FakeClock(0);
      const ran: number[] = [];
      clock.setTimeout(() => clock.setTimeout(() => ran.push(clock.now()), 5), 5);
      clock.advance(10);
      expect(ran).toEqual([10]);
    });

    it.each([-1, Number.NaN, Number.POSITIVE_INFINITY, '5'])('advance(%s) is a RangeError and moves nothing', (ms) => {
      const clock = new FakeClock(0);
      expect(() => clock.advance(ms as number)).toThrow(RangeError);
      expect(clock.now()).toBe(0);
    });

    it('set() refuses to go back in time', () => {
      const clock = new FakeClock(100);
      expect(() => clock.set(50)).toThrow(RangeError);
    });

    it('drives a real cache: expiry and refresh-ahead happen exactly when the clock says', async () => {
      const clock = new FakeClock();
      const source = new TestTokenSource({ expiresIn: 600 });
      const cache = new TokenCache({ clock, sources: { api: source }, expirySkewMs: 0, refreshBeforeExpiryMs: 60_000 });
      expect(await cache.getToken('api')).toBe('test-token-1');
      await clock.advanceAsync(539_000);
      expect(await cache.getToken('api')).toBe('test-token-1');
      expect(source.count).toBe(1);
      await clock.advanceAsync(2_000); // inside the refresh window: served at once, refreshed in the background
      expect(await cache.getToken('api')).toBe('test-token-1');
      await flush();
      expect(source.count).toBe(2);
      expect(await cache.getToken('api')).toBe('test-token-2');
      await cache.close();
    });
  });

  describe('TestTokenSource', () => {
    it('numbers its tokens, records requests, fails on demand until succeed()', async () => {
      const source = new TestTokenSource();
      const cache = new TokenCache({ clock: new FakeClock(), sources: { api: source } });
      expect(await cache.getToken('api', { subject: 'alice', scopes: ['b', 'a'] })).toBe('test-token-1');
      expect(source.calls[0]).toMatchObject({ source: 'api', subject: 'alice', scopes: ['a', 'b'] });
      source.failWith();
      await expect(cache.refresh('api', { subject: 'bob' })).rejects.toBeInstanceOf(TokenFetchError);
      expect(source.count).toBe(2);
      source.succeed();
      expect(await cache.getToken('api', { subject: 'alice', scopes: ['a', 'b'] })).toBe('test-token-1');
      await cache.close();
    });

    it('reply() decides what each fetch returns', async () => {
      const source = new TestTokenSource({ reply: (request, n) => `${request.subject ?? 'app'}-${n}` });
      expect(await source.fetchToken({ source: 'x', subject: 'u' })).toEqual({ accessToken: 'u-1' });
      const custom = new Error('boom');
      await expect(source.failWith(custom).fetchToken({ source: 'x' })).rejects.toBe(custom);
    });
  });
});
