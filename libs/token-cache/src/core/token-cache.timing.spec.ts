// The timing rules (token-timing.ts) as callers see them, on a fake clock: steady load across lifetimes from
// 2 s to 24 h, and IdP outages.
import { describe, expect, it } from 'vitest';
import { TokenFetchError } from './token-cache.errors.js';
import { FakeClock, flush } from './testing/fake-clock.js';
import { SimulatedIdp, steadyLoad } from './testing/steady-load.js';
import { TokenCache } from './token-cache.js';
import type { TokenCacheOptions } from './token-cache.options.js';

const S = 1_000;
const H = 3_600_000;

function setup(lifetimeMs: number, latencyMs = 50, options: Partial<TokenCacheOptions> = {}) {
  const clock = new FakeClock();
  const idp = new SimulatedIdp(clock, lifetimeMs, latencyMs);
  const cache = new TokenCache({ clock, random: () => 0.5, sources: { api: idp }, ...options });
  return { clock, idp, cache, t0: clock.now() };
}

describe('timing with default options under steady load', () => {
  it.each([
    [2 * S, 50],
    [3 * S, 50],
    [4 * S, 50],
    [60 * S, 50],
    [H, 200],
    [24 * H, 200],
    [2 * S, 90], // a slow IdP for the lifetime: the refresh starts earlier
  ])('%i ms tokens (IdP latency %i ms): <= 1.25 fetches per lifetime after the first, nobody waits after the first, nothing fails', async (lifetimeMs, latencyMs) => {
    const { cache, clock, idp } = setup(lifetimeMs, latencyMs);
    const lifetimes = 8;
    const calls = await steadyLoad(cache, clock, lifetimes * lifetimeMs, Math.max(5, lifetimeMs / 200));
    expect(calls.filter((c) => !c.ok)).toEqual([]);
    // Only the callers of the cold cache waited (for the first fetch); no one after it.
    const firstTokenAt = idp.requests[0]! + latencyMs;
    expect(calls.filter((c) => c.at >= firstTokenAt && !c.immediate)).toEqual([]);
    expect(cache.stats().misses).toBe(calls.filter((c) => c.at < firstTokenAt).length);
    const after = idp.requests.length - 1;
    expect(after / lifetimes).toBeLessThanOrEqual(1.25);
    // …and refresh-ahead does happen in time (not one fetch per expiry with callers waiting).
    expect(after).toBeGreaterThanOrEqual(lifetimes - 1);
    await cache.close();
  });

  it('holds for random lifetimes from 2 s to 24 h and IdP latencies up to 2 % of the lifetime or 5 s (property sweep)', async () => {
    let seed = 1234;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 12; i++) {
      const lifetimeMs = Math.round(2 * S * Math.pow((24 * H) / (2 * S), random()));
      const latencyMs = Math.max(1, Math.round(random() * Math.min(0.02 * lifetimeMs, 5_000))); // within fetchTimeoutMs
      const { cache, clock, idp } = setup(lifetimeMs, latencyMs);
      const calls = await steadyLoad(cache, clock, 5 * lifetimeMs, Math.max(5, lifetimeMs / 100), 1);
      const ctx = JSON.stringify({ lifetimeMs, latencyMs });
      expect(calls.filter((c) => !c.ok).length, ctx).toBe(0);
      const firstTokenAt = idp.requests[0]! + latencyMs;
      expect(calls.filter((c) => c.at >= firstTokenAt && !c.immediate).length, ctx).toBe(0);
      expect((idp.requests.length - 1) / 5, ctx).toBeLessThanOrEqual(1.25);
      await cache.close();
    }
  });

  it('keeps an explicit refreshBeforeExpiryMs (0.1 meaning): half the lifetime for short tokens, two fetches per lifetime', async () => {
    const { cache, clock, idp } = setup(4 * S, 50, { refreshBeforeExpiryMs: 300_000 });
    await steadyLoad(cache, clock, 8 * 4 * S, 20);
    expect(idp.requests.length).toBeGreaterThan(14); // refresh at half-life: ~2 per lifetime
    expect(cache.stats().misses).toBe(6); // the callers of the first 50 ms
    await cache.close();
  });

  it('refreshes at receivedAt + refresh_in from a reply, and reads a JWT exp - iat as a lifetime from arrival', async () => {
    const clock = new FakeClock();
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    // The IdP's clock runs 20 min ahead: exp would look 1 h 20 min away; exp - iat says 1 h.
    const iat = Math.floor(clock.now() / 1000) + 1_200;
    const jwt = `${b64({ alg: 'none' })}.${b64({ iat, exp: iat + 3_600 })}.sig`;
    let n = 0;
    const cache = new TokenCache({
      clock,
      sources: {
        api: { kind: 'x', fetchToken: async () => ({ accessToken: `t${++n}`, expiresIn: 3600, refreshIn: 1800 }) },
        jwt: { kind: 'x', fetchToken: async () => ({ accessToken: jwt }) },
      },
    });
    await cache.getToken('api');
    expect((await cache.getCachedToken('jwt')).expiresAt.getTime()).toBe(clock.now() + H);
    clock.advance(1_800_000 - 1);
    await cache.getToken('api');
    await flush();
    expect(n).toBe(1);
    clock.advance(1);
    await cache.getToken('api');
    await flush();
    expect(n).toBe(2);
    await cache.close();
  });

  it('moves the refresh to the stored refreshAt (as a shared store hands it over)', async () => {
    const clock = new FakeClock();
    let n = 0;
    const cache = new TokenCache({
      clock,
      sources: { api: { kind: 'x', fetchToken: async () => ({ accessToken: `t${++n}`, expiresIn: 3600 }) } },
    });
    await cache.getToken('api');
    // Simulate a parsed refresh_in of 30 min (h10's reply parsing sets refreshAt on the stored token).
    const stored = cache.store.peek('api')!;
    await cache.store.set('api', { ...stored, refreshAt: stored.receivedAt + 1_800_000 });
    clock.advance(1_800_000 - 1);
    await cache.getToken('api');
    await flush();
    expect(n).toBe(1);
    clock.advance(1);
    await cache.getToken('api');
    await flush();
    expect(n).toBe(2);
    await cache.close();
  });
});

describe('timing during IdP outages', () => {
  it('serves the held token through failing refreshes up to its expiry less the transit margin, then fails', async () => {
    const { cache, clock, idp, t0 } = setup(4 * S, 0);
    await cache.getToken('api'); // t1, usable until t0 + 3.6 s, served while failing until t0 + 3.8 s
    idp.down = () => true;
    clock.set(t0 + 3_400); // refresh window: the background refresh fails
    expect(await cache.getToken('api')).toBe('t1');
    await flush();
    expect(idp.requests).toHaveLength(2);
    clock.set(t0 + 3_600); // no longer usable: the first caller may fetch at once (its refresh backs off until 4.4 s)
    expect(await cache.getToken('api')).toBe('t1');
    await flush();
    expect(idp.requests).toHaveLength(3);
    clock.set(t0 + 3_799);
    expect(await cache.getToken('api')).toBe('t1');
    expect(cache.peek('api')).toBeUndefined(); // peek shows only usable tokens
    expect(cache.entries()[0]!.state).toBe('expired');
    clock.set(t0 + 3_800); // no longer servable: the first caller may fetch at once again, and gets its error
    await expect(cache.getToken('api')).rejects.toMatchObject({ name: 'TokenFetchError', status: 500 });
    expect(idp.requests).toHaveLength(4);
    await expect(cache.getToken('api')).rejects.toMatchObject({ status: 500 }); // then the last error, at once
    clock.set(t0 + 4_799);
    await expect(cache.getToken('api')).rejects.toMatchObject({ status: 500 });
    expect(idp.requests).toHaveLength(4); // once a second from now on
    clock.set(t0 + 4_800);
    await expect(cache.getToken('api')).rejects.toMatchObject({ status: 500 });
    expect(idp.requests).toHaveLength(5);
    expect(cache.stats().fetchFailures).toBe(4);
    await cache.close();
  });

  it('answers with the held token when a fetch for an unusable but servable token fails (no refresh-ahead)', async () => {
    const { cache, clock, idp, t0 } = setup(60 * S, 0, { refreshBeforeExpiryMs: 0 });
    await cache.getToken('api');
    idp.down = () => true;
    clock.set(t0 + 55_000); // past usableUntil (54 s), before 59 s
    expect(await cache.getToken('api')).toBe('t1');
    expect(idp.requests).toHaveLength(2);
    await cache.close();
  });

  it('never serves a token that was invalidated, even while the IdP fails', async () => {
    const { cache, clock, idp, t0 } = setup(4 * S, 0);
    await cache.getToken('api');
    idp.down = () => true;
    clock.set(t0 + 3_400);
    await cache.getToken('api');
    await flush();
    expect(await cache.invalidate('api', undefined, 't1')).toBe(true); // the API said 401
    // No usable token any more: the first caller fetches at once, whatever the refresh backoff.
    await expect(cache.getToken('api')).rejects.toMatchObject({ status: 500 });
    expect(idp.requests).toHaveLength(3);
    await expect(cache.getToken('api')).rejects.toMatchObject({ status: 500 });
    expect(idp.requests).toHaveLength(3);
    await cache.close();
  });

  it('serves through a non-retryable refresh failure too, then backs off doubling', async () => {
    const { cache, clock, idp, t0 } = setup(60 * S, 0);
    await cache.getToken('api');
    idp.down = () => true;
    idp.error = () => new TokenFetchError('invalid_client', { status: 401, oauthError: 'invalid_client', retryable: false });
    clock.set(t0 + 51_000); // window start (usableUntil 54 s less 3 s)
    expect(await cache.getToken('api')).toBe('t1');
    await flush();
    clock.set(t0 + 54_500); // at once after usableUntil
    expect(await cache.getToken('api')).toBe('t1');
    await flush();
    expect(idp.requests).toHaveLength(3);
    clock.set(t0 + 55_400); // the second failure's backoff (2 s), not once per second
    expect(await cache.getToken('api')).toBe('t1');
    await flush();
    expect(idp.requests).toHaveLength(3);
    clock.set(t0 + 56_500);
    await cache.getToken('api');
    await flush();
    expect(idp.requests).toHaveLength(4);
    await cache.close();
  });

  it.each(Array.from({ length: 17 }, (_, i) => i * 200))(
    '3 s outage starting %i ms after a 4 s token arrived: served while servable, <= 1 request a second, recovered within 1 s',
    async (phase) => {
      const latency = 50;
      const { cache, clock, idp } = setup(4 * S, latency);
      await steadyLoad(cache, clock, 5 * S, 10); // tokens settle into their refresh cycle
      const last = cache.store.peek('api')!;
      const outageStart = last.receivedAt + phase;
      const outageEnd = outageStart + 3 * S;
      idp.down = (at) => at >= outageStart && at < outageEnd;
      const calls = await steadyLoad(cache, clock, outageEnd + 3 * S - clock.now(), 10);

      const heldServableUntil = last.expiresAt - 200;
      const failed = calls.filter((c) => !c.ok);
      // No call fails while the token held at the outage's start may still be served…
      expect(failed.filter((c) => c.at < heldServableUntil)).toEqual([]);
      // …nor once the IdP is back for a second (plus the fetch's latency).
      expect(failed.filter((c) => c.at >= outageEnd + 1_000 + latency)).toEqual([]);
      // An outage that starts early enough in the token's life costs nothing at all.
      if (phase <= 600) expect(failed).toEqual([]);
      // The IdP is not hammered: while no usable token is held, requests are at least a second apart, but for
      // the one a caller may make at once when the held token stops being servable.
      const during = idp.requests.filter((at) => at >= last.expiresAt - 400 && at < outageEnd);
      const gaps = during.slice(1).map((at, i) => at - during[i]!);
      expect(gaps.filter((gap) => gap < 1_000).length).toBeLessThanOrEqual(1);
      expect(idp.requests.filter((at) => at >= outageStart && at < outageEnd).length).toBeLessThanOrEqual(6);
      await cache.close();
    },
  );

  it('with no token at all, a recovered IdP is used within a second and is asked once a second meanwhile', async () => {
    const { cache, clock, idp, t0 } = setup(60 * S, 50);
    idp.down = (at) => at < t0 + 10_300;
    const calls = await steadyLoad(cache, clock, 15 * S, 10);
    const requestsDuringOutage = idp.requests.filter((at) => at < t0 + 10_300);
    expect(requestsDuringOutage.length).toBeLessThanOrEqual(11);
    const firstOk = calls.find((c) => c.ok)!;
    expect(firstOk.at - (t0 + 10_300)).toBeLessThanOrEqual(1_000);
    expect(calls.filter((c) => c.at > firstOk.at && !c.ok)).toEqual([]);
    await cache.close();
  });
});
