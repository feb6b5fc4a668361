import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { harness } from './testing/harness.js';

/** peek() remembers the last token it showed (with its view and usable-until): nothing may notice but the speed. */
describe('peek', () => {
  it('a repeated peek stops at the skew: the remembered view is never served past usableUntil', async () => {
    const { cache, clock, source } = harness({ expirySkewMs: 30_000 });
    source.reply = () => ({ accessToken: 'tok', expiresIn: 600 });
    await cache.getToken('api');
    const view = cache.peek('api');
    expect(cache.peek('api')).toBe(view);
    clock.advance(600_000 - 30_001);
    expect(cache.peek('api')).toBe(view);
    clock.advance(1);
    expect(cache.peek('api')).toBeUndefined();
    expect(cache.peek('api')).toBeUndefined();
  });

  it('after invalidate, refresh or clear, peek shows what the store holds, not the token it showed last', async () => {
    const { cache } = harness();
    const first = await cache.getToken('api', { subject: 'a' });
    expect(cache.peek('api', { subject: 'a' })?.accessToken).toBe(first);
    await cache.invalidate('api', { subject: 'a' });
    expect(cache.peek('api', { subject: 'a' })).toBeUndefined();
    const second = await cache.refresh('api', { subject: 'a' });
    expect(cache.peek('api', { subject: 'a' })?.accessToken).toBe(second);
    await cache.clear();
    expect(cache.peek('api', { subject: 'a' })).toBeUndefined();
  });

  it('alternating keys each get their own token, and the shown views stay read-only', async () => {
    const { cache } = harness();
    const plain = await cache.getToken('api');
    const alice = await cache.getToken('api', { subject: 'alice' });
    for (let i = 0; i < 3; i++) {
      expect(cache.peek('api')?.accessToken).toBe(plain);
      expect(cache.peek('api', { subject: 'alice' })?.accessToken).toBe(alice);
      expect(cache.peek('api', { subject: 'bob' })).toBeUndefined();
    }
    const view = cache.peek('api')!;
    expect(() => ((view as { accessToken: string }).accessToken = 'x')).toThrow(TypeError);
    expect(cache.peek('api')?.accessToken).toBe(plain);
  });

  it('the remembered token is not shown by util.inspect of the cache\'s own fields', async () => {
    const { cache } = harness();
    const token = await cache.getToken('api', { subject: 'alice' });
    expect(cache.peek('api', { subject: 'alice' })?.accessToken).toBe(token);
    await cache.invalidate('api', { subject: 'alice' });
    expect(inspect(cache, { depth: 10, showHidden: true })).not.toContain(token);
  });
});
