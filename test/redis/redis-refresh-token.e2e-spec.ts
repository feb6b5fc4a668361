/**
 * Refresh tokens in a fleet, against oidc-provider (rotation on; a spent refresh token coming back revokes
 * the whole grant, as Auth0, Okta and Keycloak do with reuse detection) and a real Redis shared by two
 * instances.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { refreshTokenGrant, TokenCache, type TokenRequest } from 'nestjs-token-cache/core';
import { RedisTokenStore } from 'nestjs-token-cache/redis';
import { FakeClock } from '../../libs/token-cache/src/core/testing/fake-clock.js';
import { NASTY_SECRETS, startOidcIdp, type OidcIdp } from '../support/oidc-idp.js';
import { deleteTestKeys, TEST_REDIS_URL, testRedisAvailable, uniquePrefix } from '../support/redis-test-server.js';

const hasRedis = await testRedisAvailable('refresh tokens across instances');

/** Every form a secret could take in a stored value. */
function encodings(secret: string): string[] {
  return [secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('base64url')];
}

describe.skipIf(!hasRedis)('refreshTokenGrant across instances sharing a RedisTokenStore (rotating IdP with reuse detection)', () => {
  let idp: OidcIdp;
  let admin: Redis;
  const caches: TokenCache[] = [];

  beforeAll(async () => {
    idp = await startOidcIdp();
    admin = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    for (const cache of caches) await cache.close();
    await deleteTestKeys();
    admin.disconnect();
    await idp.close();
  });

  const grants = () => idp.requests.filter((r) => r.grantType === 'refresh_token').length;

  it('two instances with one plain-string refresh token refresh in turn for 10 lifetimes, and at once: 0 invalid_grant, the rotated token never readable in Redis', async () => {
    const keyPrefix = uniquePrefix('rt-fleet');
    const initial = await idp.issueRefreshToken();
    const rotated: string[] = [];
    const clock = new FakeClock(Date.now());
    const instance = () => {
      const source = refreshTokenGrant({
        tokenUrl: idp.tokenUrl,
        clientId: 'refresh-client',
        clientSecret: NASTY_SECRETS.refresh,
        refreshToken: initial,
        onRefreshTokenRotated: (rt) => void rotated.push(rt),
      });
      const cache = new TokenCache({ sources: { user: source }, store: new RedisTokenStore({ url: TEST_REDIS_URL, keyPrefix }), clock });
      caches.push(cache);
      return cache;
    };
    const a = instance();
    const b = instance();
    const before = grants();
    const failures: unknown[] = [];
    const seen = new Set<string>();
    for (let lifetime = 0; lifetime < 10; lifetime++) {
      const [first, second] = lifetime % 2 === 0 ? [a, b] : [b, a];
      // The first instance of this lifetime refreshes; the other takes its token from Redis.
      const t1 = await first.getToken('user').catch((e: unknown) => void failures.push(e));
      const t2 = await second.getToken('user').catch((e: unknown) => void failures.push(e));
      expect(t2).toBe(t1);
      seen.add(String(t1));
      // Both force a refresh at the same moment: each spends the family's newest refresh token, one after the other.
      const forced = await Promise.allSettled([a.refresh('user'), b.refresh('user')]);
      for (const r of forced) if (r.status === 'rejected') failures.push(r.reason);
      clock.advance(601_000); // the IdP's tokens live 600 s
    }
    expect(failures).toEqual([]);
    expect(seen.size).toBe(10);
    // 10 lifetimes: one refresh each plus the two forced ones, every one a success.
    expect(grants() - before).toBe(30);
    expect(new Set(rotated).size).toBe(30);
    // The grant is still alive: no refresh token was ever spent twice.
    expect(await a.refresh('user')).toBeTruthy();

    // Redis holds the family's current refresh token only sealed: no refresh token in any form, in any key or value.
    const keys = await admin.keys(`${keyPrefix}*`);
    expect(keys.some((k) => k.endsWith(':value'))).toBe(true);
    for (const key of keys) {
      const value = (await admin.type(key)) === 'string' ? ((await admin.get(key)) ?? '') : '';
      expect(await admin.pttl(key), key).toBeGreaterThan(0);
      for (const rt of [initial, ...rotated]) {
        for (const form of encodings(rt)) {
          expect(key).not.toContain(form);
          expect(value).not.toContain(form);
        }
      }
    }
  });

  it('a new instance started with the configured (long spent) refresh token uses the one the fleet shares', async () => {
    const keyPrefix = uniquePrefix('rt-late');
    const initial = await idp.issueRefreshToken();
    const make = () => {
      const source = refreshTokenGrant({ tokenUrl: idp.tokenUrl, clientId: 'refresh-client', clientSecret: NASTY_SECRETS.refresh, refreshToken: initial });
      const cache = new TokenCache({ sources: { user: source }, store: new RedisTokenStore({ url: TEST_REDIS_URL, keyPrefix, encryptionKey: randomKey }) });
      caches.push(cache);
      return cache;
    };
    const randomKey = randomBytes(32);
    const a = make();
    for (let i = 0; i < 3; i++) await a.refresh('user');
    const late = make();
    expect(await late.refresh('user')).toBeTruthy();
    expect(await a.refresh('user')).toBeTruthy();
  });

  it('per user: refreshToken is a function of the request; rotations reach the app’s store with the request; two instances never spend one user’s token twice', async () => {
    const keyPrefix = uniquePrefix('rt-users');
    const users = ['alice', 'bob', 'carol'];
    const db = new Map<string, string>();
    for (const user of users) db.set(user, await idp.issueRefreshToken());
    const saved: { subject?: string; rt: string }[] = [];
    const instance = () => {
      const source = refreshTokenGrant({
        tokenUrl: idp.tokenUrl,
        clientId: 'refresh-client',
        clientSecret: NASTY_SECRETS.refresh,
        refreshToken: async ({ subject }: TokenRequest) => {
          await new Promise((r) => setTimeout(r, 2)); // a database read
          return db.get(subject!)!;
        },
        onRefreshTokenRotated: async (rt, request) => {
          await new Promise((r) => setTimeout(r, 5)); // a database write
          db.set(request.subject!, rt);
          saved.push({ subject: request.subject, rt });
        },
      });
      const cache = new TokenCache({ sources: { user: source }, store: new RedisTokenStore({ url: TEST_REDIS_URL, keyPrefix }) });
      caches.push(cache);
      return cache;
    };
    const a = instance();
    const b = instance();
    const before = grants();
    // Each round, for every user at once: A refreshes one cache key and B another (different keys, so the
    // per-key fetch lock does not order them): both would spend the user's one refresh token.
    const failures: string[] = [];
    for (let round = 0; round < 4; round++) {
      const calls = users.flatMap((subject) => [
        a.refresh('user', { subject }),
        b.refresh('user', { subject, scopes: ['read'] }),
        b.refresh('user', { subject, scopes: ['write'] }),
      ]);
      for (const r of await Promise.allSettled(calls)) if (r.status === 'rejected') failures.push(String(r.reason));
    }
    expect(failures).toEqual([]);
    expect(saved.length).toBe(grants() - before);
    expect(new Set(saved.map((s) => s.rt)).size).toBe(saved.length);
    for (const user of users) expect(saved.filter((s) => s.subject === user).length).toBeGreaterThan(0);
    // Every user's grant is still alive.
    for (const subject of users) expect(await a.refresh('user', { subject })).toBeTruthy();
  });
});
