// Many keys fetching at once: no MaxListenersExceededWarning (was printed from 11 concurrent keys on).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clientCredentials, TokenCache } from 'nestjs-token-cache/core';
import { json, startRawServer, type RawServer } from '../../../../test/support/raw-http-server.js';
import { ScriptedSource } from './testing/scripted-source.js';
import { FakeClock, flush } from './testing/fake-clock.js';

let warnings: Error[] = [];
const onWarning = (w: Error) => warnings.push(w);
beforeAll(() => void process.on('warning', onWarning));
afterAll(() => void process.off('warning', onWarning));
afterEach(() => {
  warnings = [];
});

/** Lets process warnings (emitted on the next tick) arrive. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('concurrent fetches of many keys', () => {
  it('50 keys fetching at once, held open together, then the cache closed: no MaxListenersExceededWarning', async () => {
    const api = new ScriptedSource();
    api.manual = true;
    const cache = new TokenCache({ sources: { api }, clock: new FakeClock() });
    const calls = Array.from({ length: 50 }, (_, i) => cache.getToken('api', { subject: `user-${i}` }).catch((e: unknown) => e));
    await flush();
    expect(api.pending).toHaveLength(50);
    for (const p of api.pending.slice(0, 25)) p.resolve({ accessToken: `t-${p.request.subject}`, expiresIn: 600 });
    await flush();
    await cache.close(); // the other 25 are aborted by close()
    const results = await Promise.all(calls);
    expect(results.filter((r) => typeof r === 'string')).toHaveLength(25);
    expect(results.filter((r) => r instanceof Error && (r as Error).message.includes('closed'))).toHaveLength(25);
    for (const p of api.pending.slice(25)) expect(p.signal.aborted).toBe(true);
    await settle();
    expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
  });

  describe('through a real token endpoint', () => {
    let server: RawServer;
    const held: (() => void)[] = [];
    beforeAll(async () => {
      server = await startRawServer((res, req) => {
        held.push(() => json(res, 200, { access_token: `at-${req.body.get('audience')}`, token_type: 'Bearer', expires_in: 600 }));
      });
    });
    afterAll(() => server.close());

    it('50 keys of one OAuth source in flight together (requests held by the server): no warning, 50 requests, 50 tokens', async () => {
      const cache = new TokenCache({
        sources: { api: clientCredentials({ tokenUrl: server.url, clientId: 'c', clientSecret: 'client-secret-value' }) },
      });
      const calls = Array.from({ length: 50 }, (_, i) => cache.getToken('api', { audience: `aud${i}` }));
      while (held.length < 50) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(cache.stats().inFlight).toBe(50);
      for (const reply of held.splice(0)) reply();
      const tokens = await Promise.all(calls);
      expect(new Set(tokens).size).toBe(50);
      await cache.close();
      await settle();
      expect(warnings.map((w) => `${w.name}: ${w.message}`).filter((w) => w.includes('MaxListeners'))).toEqual([]);
    });
  });
});
