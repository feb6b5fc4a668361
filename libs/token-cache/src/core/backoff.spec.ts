import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  const exact = () => 0.5;

  it('starts at 1 s and doubles per consecutive failure', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, exact))).toEqual([1000, 2000, 4000, 8000, 16000]);
  });

  it('never waits more than 30 s', () => {
    expect(backoffDelay(6, exact)).toBe(30_000);
    expect(backoffDelay(50, () => 0.999)).toBe(30_000);
    expect(backoffDelay(Number.MAX_SAFE_INTEGER, exact)).toBe(30_000);
  });

  it('jitters by ±20 %', () => {
    expect(backoffDelay(1, () => 0)).toBe(800);
    expect(backoffDelay(1, () => 0.99999)).toBe(1200);
    expect(backoffDelay(3, () => 0)).toBe(3200);
    const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(2)));
    for (const d of seen) expect(d).toBeGreaterThanOrEqual(1600), expect(d).toBeLessThanOrEqual(2400);
    expect(seen.size).toBeGreaterThan(1);
  });

  it('waits at least what the server asked for in Retry-After, up to 5 minutes', () => {
    expect(backoffDelay(1, exact, 7_000)).toBe(7_000);
    expect(backoffDelay(3, exact, 100)).toBe(4_000);
    expect(backoffDelay(1, exact, 3_600_000)).toBe(300_000);
  });
});
