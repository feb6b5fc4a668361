import { describe, expect, it } from 'vitest';
import { entryStateOf, memoTiming } from './timing-memo.js';
import type { StoredToken } from './token-store.interface.js';
import { tokenTiming } from './token-timing.js';

const token = (): StoredToken => ({ accessToken: 't', tokenType: 'Bearer', receivedAt: 0, expiresAt: 3_600_000, source: 's' });
const options = { expirySkewMs: 30_000, refreshBeforeExpiryMs: 300_000 };

describe('memoTiming', () => {
  it('is tokenTiming, computed once per token and options object', () => {
    const t = token();
    const first = memoTiming(t, options);
    expect(first).toEqual(tokenTiming(t, options));
    expect(memoTiming(t, options)).toBe(first);
  });

  it('other options (another cache holding the same token) get their own timing', () => {
    const t = token();
    const a = memoTiming(t, options);
    const b = memoTiming(t, { expirySkewMs: 0, refreshBeforeExpiryMs: 0 });
    expect(b.usableUntil).toBe(3_600_000);
    expect(a.usableUntil).toBe(3_600_000 - 30_000);
    expect(memoTiming(t, options).usableUntil).toBe(3_600_000 - 30_000);
  });

  it('is never serialized or copied with the token', () => {
    const t = token();
    memoTiming(t, options);
    expect(JSON.parse(JSON.stringify(t))).toEqual(token());
    expect(Object.keys({ ...t })).toEqual(Object.keys(token()));
  });
});

describe('entryStateOf', () => {
  it('fresh, refresh-due, then expired from the skew on (also while it may still be served)', () => {
    const timing = memoTiming(token(), options);
    expect(entryStateOf(timing, 0)).toBe('fresh');
    expect(entryStateOf(timing, 3_600_000 - 200_000)).toBe('refresh-due');
    expect(entryStateOf(timing, 3_600_000 - 30_000)).toBe('expired');
    expect(entryStateOf(timing, 3_600_001)).toBe('expired');
  });
});
