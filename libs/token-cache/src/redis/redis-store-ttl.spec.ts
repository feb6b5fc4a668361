import { describe, expect, it } from 'vitest';
import { MAX_KEY_TTL_MS, tokenKeyTtlMs } from './redis-store-ttl.js';

describe('tokenKeyTtlMs', () => {
  const now = 1_700_000_000_000;

  it('is the time left until the token expires, rounded up to whole ms', () => {
    expect(tokenKeyTtlMs(now + 600_000, now)).toBe(600_000);
    expect(tokenKeyTtlMs(now + 0.2, now)).toBe(1);
  });

  it('caps every lifetime, however long the token claims to live (expires_in: 1e20)', () => {
    expect(tokenKeyTtlMs(now + 1e23, now)).toBe(MAX_KEY_TTL_MS);
    expect(tokenKeyTtlMs(Number.MAX_VALUE, now)).toBe(MAX_KEY_TTL_MS);
    expect(MAX_KEY_TTL_MS).toBe(30 * 86_400_000);
  });

  it('gives no TTL (the token is not written) when it is already expired or not a time', () => {
    expect(tokenKeyTtlMs(now, now)).toBeUndefined();
    expect(tokenKeyTtlMs(now - 1, now)).toBeUndefined();
    expect(tokenKeyTtlMs(Number.NaN, now)).toBeUndefined();
    expect(tokenKeyTtlMs(Number.POSITIVE_INFINITY, now)).toBeUndefined();
    expect(tokenKeyTtlMs(Number.NEGATIVE_INFINITY, now)).toBeUndefined();
  });
});
