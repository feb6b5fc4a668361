import { describe, expect, it } from 'vitest';
import { tokenFunction } from './sources/token-function.source.js';
import { flush } from './testing/fake-clock.js';
import { harness } from './testing/harness.js';

describe('fetch timeout', () => {
  it('aborts the signal and fails the fetch with a TokenFetchError after fetchTimeoutMs', async () => {
    const { cache, source, clock } = harness({ fetchTimeoutMs: 5_000 });
    source.manual = true;
    const result = cache.getToken('api').catch((e: Error) => e);
    await flush();
    const { signal } = source.pending[0]!;
    clock.advance(4_999);
    expect(signal.aborted).toBe(false);
    clock.advance(1);
    expect(signal.aborted).toBe(true);
    const error = await result;
    expect(error).toMatchObject({ name: 'TokenFetchError', message: expect.stringContaining('timed out after 5000 ms') });
    // A late answer after the timeout is not cached.
    source.pending[0]!.resolve({ accessToken: 'late', expiresIn: 60 });
    await flush();
    expect(cache.peek('api')).toBeUndefined();
    expect(clock.pending).toBe(0);
  });

  it("uses the source's timeoutMs over the cache's", async () => {
    const { clock } = harness();
    let signal!: AbortSignal;
    const { cache } = harness({
      clock,
      sources: { api: tokenFunction((_r, ctx) => ((signal = ctx.signal), new Promise<string>(() => undefined)), { timeoutMs: 50 }) },
    } as never);
    const result = cache.getToken('api').catch((e: Error) => e);
    await flush();
    clock.advance(50);
    expect(signal.aborted).toBe(true);
    expect(await result).toMatchObject({ name: 'TokenFetchError' });
  });

  it('clears its timer when the fetch finishes', async () => {
    const { cache, clock } = harness();
    await cache.getToken('api');
    expect(clock.pending).toBe(0);
  });
});
