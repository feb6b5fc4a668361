import { describe, expect, it } from 'vitest';
import { FETCH_DURATIONS_KEPT, FetchDurations, p95 } from './fetch-durations.js';

describe('FetchDurations', () => {
  it('answers the p95 of the source’s recent fetches, this one included', () => {
    const d = new FetchDurations();
    expect(d.record('a', 300)).toBe(300);
    expect(d.record('a', 10)).toBe(300); // one sample of two is above p95: the largest
    expect(d.record('b', 5)).toBe(5); // per source
  });

  it('keeps the last 20: an outlier counts as the p95 while fewer than 20 followed it, then ages out', () => {
    const d = new FetchDurations();
    d.record('a', 5_000);
    let last = 0;
    for (let i = 0; i < FETCH_DURATIONS_KEPT - 1; i++) last = d.record('a', 100);
    expect(last).toBe(100); // 20 kept: nearest rank 19 of 20 is the second largest
    expect(d.record('a', 100)).toBe(100);
    for (let i = 0; i < 18; i++) d.record('a', 100);
    expect(d.record('a', 5_000)).toBe(100); // one slow fetch in 20 is the 5 % above the p95
    expect(d.record('a', 4_000)).toBe(4_000); // two are not
  });

  it('ignores a duration that is not one', () => {
    const d = new FetchDurations();
    expect(d.record('a', Number.NaN)).toBe(0);
    expect(d.record('a', -5)).toBe(0);
    expect(d.record('a', 7)).toBe(7);
  });

  it('computes a nearest-rank p95', () => {
    expect(p95([])).toBe(0);
    expect(p95([3, 1, 2])).toBe(3);
    expect(p95(Array.from({ length: 100 }, (_, i) => i + 1))).toBe(95);
  });
});
