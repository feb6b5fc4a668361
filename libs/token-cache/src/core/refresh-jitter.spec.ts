import { describe, expect, it } from 'vitest';
import { RefreshJitter, refreshWindowEnd } from './refresh-jitter.js';

describe('RefreshJitter', () => {
  it('is due at this instance’s own point of the window, drawn once per token', () => {
    const draws = [0.25, 0.9];
    const jitter = new RefreshJitter(() => draws.shift()!);
    const a = {};
    const b = {};
    expect(jitter.due(a, 1_000, 2_000, 999)).toBe(false); // before the window: nothing drawn
    expect(jitter.due(a, 1_000, 2_000, 1_249)).toBe(false);
    expect(jitter.due(a, 1_000, 2_000, 1_250)).toBe(true);
    expect(jitter.due(b, 1_000, 2_000, 1_250)).toBe(false); // b drew 0.9
    expect(jitter.due(b, 1_000, 2_000, 1_900)).toBe(true);
    expect(draws).toEqual([]);
    expect(jitter.due(a, 1_000, 2_000, 1_300)).toBe(true); // the same point again, no new draw
  });

  it('is always due at the end of the window, whatever the random source gives', () => {
    for (const bad of [1, 5, Number.NaN, -1, Number.POSITIVE_INFINITY]) {
      const jitter = new RefreshJitter(() => bad);
      expect(jitter.due({}, 1_000, 2_000, 2_000)).toBe(true);
      expect(jitter.due({}, 1_000, 1_000, 1_000)).toBe(true); // an empty window
    }
  });

  it('spreads a fleet over the window: 100 instances with Math.random cover it, none at one moment', () => {
    const points = Array.from({ length: 100 }, () => {
      const jitter = new RefreshJitter(Math.random);
      const token = {};
      let t = 1_000;
      while (!jitter.due(token, 1_000, 2_000, t)) t += 10;
      return t;
    });
    const buckets = new Set(points.map((t) => Math.floor((t - 1_000) / 100)));
    expect(buckets.size).toBeGreaterThanOrEqual(7); // of 10 tenths of the window
    expect(Math.max(...points.map((t) => points.filter((u) => u === t).length))).toBeLessThan(15);
  });
});

describe('refreshWindowEnd', () => {
  it('is half-way from the start to the end of usability (time left for the refresh)', () => {
    expect(refreshWindowEnd(1_000, 2_000)).toBe(1_500);
    expect(refreshWindowEnd(2_000, 1_000)).toBe(2_000);
  });
});
