import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { coarseNow } from './clock.js';

describe('coarseNow', () => {
  afterEach(() => vi.useRealTimers());

  it('reads the wall clock once per event-loop turn', async () => {
    const first = coarseNow();
    const spin = Date.now() + 5;
    while (Date.now() < spin) {
      // busy-wait inside one turn: the cached time stands still
    }
    expect(coarseNow()).toBe(first);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(coarseNow()).toBeGreaterThanOrEqual(first + 5);
  });

  it('is never stale in an I/O callback that follows an idle wait (the turn ends before the loop blocks)', () => {
    // A plain Node process (a test runner's worker keeps its loop busy and would hide the bug) on the built
    // library (npm test builds it first): read the clock in a timer callback, go idle until a child writes.
    const clock = fileURLToPath(new URL('../../dist/core/clock.js', import.meta.url));
    const script = `
      const { spawn } = await import('node:child_process');
      const { coarseNow } = await import(${JSON.stringify(clock)});
      setTimeout(() => {
        coarseNow();
        spawn('sh', ['-c', 'sleep 0.3; echo done']).stdout.once('data', () => console.log(Date.now() - coarseNow()));
      }, 0);`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
    expect(result.stderr).toBe('');
    expect(Number(result.stdout.trim())).toBeLessThan(50);
  });

  it('re-reads after 1,024 uses even within one turn', () => {
    const first = coarseNow();
    const spin = Date.now() + 3;
    while (Date.now() < spin) {
      // let real time pass
    }
    let later = first;
    for (let i = 0; i < 1_100; i++) later = coarseNow();
    expect(later).toBeGreaterThan(first);
  });

  it('follows faked time on every call (vi.useFakeTimers / setSystemTime), within one turn too', () => {
    coarseNow();
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    expect(coarseNow()).toBe(Date.UTC(2030, 0, 1));
    vi.advanceTimersByTime(60_000);
    expect(coarseNow()).toBe(Date.UTC(2030, 0, 1) + 60_000);
    vi.setSystemTime(new Date('2031-01-01T00:00:00Z'));
    expect(coarseNow()).toBe(Date.UTC(2031, 0, 1));
  });
});
