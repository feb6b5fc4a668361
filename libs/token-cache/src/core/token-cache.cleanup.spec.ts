import { describe, expect, it } from 'vitest';
import { harness } from './testing/harness.js';

describe('expired entries and removeExpired', () => {
  it('keeps expired entries visible with state expired until the cleanup removes them', async () => {
    const { cache, source, clock, events } = harness();
    source.reply = (r, n) => ({ accessToken: `t${n}`, expiresIn: r.subject === 'short' ? 60 : 3600 });
    await cache.getToken('api', { subject: 'short' });
    await cache.getToken('api', { subject: 'long' });
    // API 0.2: the skew is at most a tenth of the lifetime (6 s for the 60 s token, 30 s for the hour).
    clock.advance(54_000); // short: expiresAt - skew reached
    const bySubject = Object.fromEntries(cache.entries().map((e) => [e.subject, e]));
    expect(bySubject.short).toMatchObject({ state: 'expired', expiresInMs: 6_000 });
    expect(bySubject.long).toMatchObject({ state: 'fresh', expiresInMs: 3_546_000 });
    expect(cache.peek('api', { subject: 'short' })).toBeUndefined();

    expect(await cache.removeExpired()).toBe(1);
    expect(cache.entries().map((e) => e.subject)).toEqual(['long']);
    expect(cache.stats()).toMatchObject({ expiredRemoved: 1, size: 1 });
    expect(events.filter((e) => e.type === 'expired')).toEqual([expect.objectContaining({ key: 'api|sub=short' })]);
    expect(await cache.removeExpired()).toBe(0);
  });

  it('treats a token as expired expirySkewMs before its expiry', async () => {
    const { cache, source, clock } = harness({ expirySkewMs: 10_000, refreshBeforeExpiryMs: 0 });
    await cache.getToken('api');
    clock.advance(3_590_000 - 1);
    expect(cache.peek('api')).toBeDefined();
    clock.advance(1);
    expect(cache.peek('api')).toBeUndefined();
    expect(await cache.getToken('api')).toBe('token-2');
    expect(source.count).toBe(2);
  });

  it('a new fetch replaces an expired entry', async () => {
    const { cache, clock } = harness();
    await cache.getToken('api');
    clock.advance(3_600_000);
    expect(cache.entries()[0]!.state).toBe('expired');
    await cache.getToken('api');
    expect(cache.entries()).toHaveLength(1);
    expect(cache.entries()[0]!.state).toBe('fresh');
  });

  it('entries() and stats() never contain a token', async () => {
    const { cache } = harness();
    await cache.getToken('api', { subject: 's', scopes: ['a'], audience: 'aud', resource: 'res' });
    const text = JSON.stringify([cache.entries(), cache.stats()]);
    expect(text).not.toContain('token-1');
    expect(cache.entries()[0]).toEqual({
      key: 'api|sub=s|scope=a|aud=aud|res=res',
      source: 'api',
      subject: 's',
      scopes: ['a'],
      audience: 'aud',
      resource: 'res',
      expiresAt: expect.any(Date),
      expiresInMs: 3_600_000,
      state: 'fresh',
    });
  });
});
