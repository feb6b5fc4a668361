/**
 * One plain-string refresh token shared by two instances through a private redis-server that is frozen
 * (SIGSTOP) and killed, against oidc-provider with rotation and reuse detection (a spent refresh token coming
 * back revokes the grant). The rule under test: a shared refresh token is never spent without the fleet-wide
 * lock, nor while another instance may hold a newer one; the held access token is served meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refreshTokenGrant, TokenCache, TokenFetchError } from 'nestjs-token-cache/core';
import { RedisTokenStore } from 'nestjs-token-cache/redis';
import { FakeClock } from '../../libs/token-cache/src/core/testing/fake-clock.js';
import { NASTY_SECRETS, startOidcIdp, type OidcIdp } from '../support/oidc-idp.js';
import { PrivateRedisServer, redisServerInstalled } from '../support/redis-test-server.js';

const installed = redisServerInstalled();
if (!installed && process.env.TOKEN_CACHE_REQUIRE_REDIS === '1') throw new Error('redis-server is not installed, and TOKEN_CACHE_REQUIRE_REDIS=1 makes these tests mandatory');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(20);
  }
}

describe.skipIf(!installed)('a shared refresh token while Redis is frozen or killed (two instances, rotating IdP with reuse detection)', () => {
  let idp: OidcIdp;
  let server: PrivateRedisServer;
  const caches: TokenCache[] = [];

  beforeAll(async () => {
    idp = await startOidcIdp();
    server = await PrivateRedisServer.start();
  });
  afterAll(async () => {
    server?.signal('SIGCONT');
    for (const cache of caches) await cache.close();
    await server?.stop();
    await idp?.close();
  });

  it('frozen: nothing is spent, the held token is served until it expires, then a typed error; killed and restarted empty: the newest refresh token is found again; 0 invalid_grant', async () => {
    const initial = await idp.issueRefreshToken();
    const clock = new FakeClock(Date.now());
    const invalidGrants: unknown[] = [];
    const instance = () => {
      const source = refreshTokenGrant({ tokenUrl: idp.tokenUrl, clientId: 'refresh-client', clientSecret: NASTY_SECRETS.refresh, refreshToken: initial });
      // lockTtlMs 1 s: a value left unsettled is waited for 3 s (3 lock TTLs), the background sync runs every 500 ms.
      const store = new RedisTokenStore({ url: server.url, keyPrefix: 'rt-faults:', lockTtlMs: 1_000, commandTimeoutMs: 500 });
      const cache = new TokenCache({ sources: { user: source }, store, clock });
      cache.events$.subscribe((e) => {
        if (e.type === 'fetch_failed' && /invalid_grant/.test(e.error?.message ?? '')) invalidGrants.push(e.error);
      });
      caches.push(cache);
      return { cache, store };
    };
    const a = instance();
    const b = instance();
    await until(() => a.store.reachable && b.store.reachable, 5_000);
    const grants = () => idp.requests.filter((r) => r.grantType === 'refresh_token').length;
    const fail = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);

    // Warm-up: both refresh in turn; B's own copy of the refresh token is now behind (A rotated last).
    const held = await b.cache.getToken('user');
    expect(await a.cache.getToken('user')).toBe(held);
    await b.cache.refresh('user');
    const current = await a.cache.refresh('user');
    expect(grants()).toBe(3);
    await until(() => b.cache.peek('user')?.accessToken === current, 2_000); // B took A's token (pub/sub)

    // Redis frozen: the lock can't be taken, so nothing is sent. The held token is still served.
    server.signal('SIGSTOP');
    const frozen = await fail(b.cache.refresh('user'));
    expect(frozen).toBeInstanceOf(TokenFetchError);
    expect((frozen as TokenFetchError).retryable).toBe(true);
    expect((frozen as Error).message).toMatch(/source "user" was not attempted: the fleet-wide lock .* could not be taken .*Redis cannot be reached.*Nothing was sent/);
    expect(grants()).toBe(3);
    expect(await a.cache.getToken('user')).toBe(current);
    // Served until its real expiry (600 s): inside the refresh window, background refreshes fail, callers get the token.
    clock.advance(590_000);
    expect(await a.cache.getToken('user')).toBe(current);
    expect(await b.cache.getToken('user')).toBe(current);
    await sleep(1_200); // background refresh attempts come and fail (command timeout 500 ms)
    expect(grants()).toBe(3);
    // Past its expiry: callers get the typed error, still nothing sent.
    clock.advance(11_000);
    const expired = await fail(a.cache.getToken('user'));
    expect(expired).toBeInstanceOf(TokenFetchError);
    expect((expired as Error).message).toMatch(/was not attempted/);
    expect(grants()).toBe(3);

    // Thawed: refreshes resume at once, each spending the newest refresh token.
    server.signal('SIGCONT');
    await until(() => a.store.reachable && b.store.reachable, 5_000);
    clock.advance(2_000); // past the 1 s retry spacing of a key without a usable token
    const thawed = await b.cache.getToken('user');
    expect(thawed).not.toBe(current);
    expect(await a.cache.getToken('user')).toBe(thawed);
    const latest = await a.cache.refresh('user'); // A rotates last again: B's copy is behind
    await until(() => b.cache.peek('user')?.accessToken === latest, 2_000);
    const before = grants();

    // Killed: nothing is sent. Restarted empty: the family's value is gone; B (behind) must not spend its copy.
    await server.stop();
    await until(() => !a.store.reachable && !b.store.reachable, 5_000);
    expect(await fail(b.cache.refresh('user'))).toBeInstanceOf(TokenFetchError);
    expect(grants()).toBe(before);
    expect(await server.startProcess()).toBe(true);
    await until(() => a.store.reachable && b.store.reachable, 10_000);
    const lost = await fail(b.cache.refresh('user'));
    expect((lost as Error).message).toMatch(/lost the fleet's current refresh token/);
    expect(grants()).toBe(before);
    await sleep(1_500); // A's background sync (every 500 ms) puts its newer refresh token back
    clock.advance(3_000); // settled: 3 lock TTLs without news
    // B refreshes first, and spends A's (the newest), not its own.
    await b.cache.refresh('user');
    await a.cache.refresh('user');
    expect(grants()).toBe(before + 2);

    // Ten more lifetimes, refreshing in turn and at once: the grant is alive, no refresh token was spent twice.
    for (let i = 0; i < 10; i++) {
      const [x, y] = i % 2 ? [a, b] : [b, a];
      clock.advance(601_000);
      const t = await x.cache.getToken('user');
      expect(await y.cache.getToken('user')).toBe(t);
      await Promise.all([a.cache.refresh('user'), b.cache.refresh('user')]);
    }
    expect(invalidGrants).toEqual([]);
  }, 60_000);
});
