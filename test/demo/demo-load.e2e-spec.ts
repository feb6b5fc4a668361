/** `npm run demo:load` on a short run: concurrent traffic across several token lifetimes and a revocation, zero failures. */
import { describe, expect, it } from 'vitest';
import { formatLoadResult, runLoad } from '../../apps/demo/src/load.js';

describe('demo load run', () => {
  it('serves every request across token lifetimes and a revocation, with few token fetches', async () => {
    const result = await runLoad({ durationMs: 6_000, concurrency: 16, ttlSeconds: 2 });
    const table = formatLoadResult(result);

    expect(result.failures).toEqual([]);
    expect(result.failed).toBe(0);
    expect(result.revocations).toBe(1);
    expect(result.requests).toBeGreaterThan(500);
    expect(result.requestsPerSecond).toBeGreaterThan(50);
    // The revocation made the API answer 401s, and the interceptor turned every one into a success.
    expect(result.rejectedByApi).toBeGreaterThan(0);
    expect(result.rows.map((r) => r.source).sort()).toEqual(['billing-file', 'gateway', 'music', 'reports-file', 'trading']);
    for (const row of result.rows) {
      expect(row.failed).toBe(0);
      // Several lifetimes of 2 s tokens in 6 s: every source fetched more than once...
      expect(row.tokenFetches).toBeGreaterThan(1);
      // ...and far fewer times than it was called.
      expect(row.tokenFetches).toBeLessThan(row.requests / 3);
    }
    // OAuth sources: every cache fetch is one IdP call, nothing more (3 trading keys share 5 bots).
    for (const source of ['trading', 'music', 'gateway']) {
      const row = result.rows.find((r) => r.source === source)!;
      expect(row.idpCalls).toBe(row.tokenFetches);
    }
    expect(result.hitRate).toBeGreaterThan(0.9);
    expect(table).toMatch(/failed requests +0\n/);
    expect(table).toMatch(/│ trading +│ function +│ +\d+ │ +0 │/);
  });
});
