/**
 * DPoP with a shared Redis store: the key's thumbprint is part of the cache key, so instances share a
 * DPoP-bound token only when they hold the same key; an instance with another key fetches its own.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { clientCredentials, TokenCache } from 'nestjs-token-cache/core';
import { RedisTokenStore } from 'nestjs-token-cache/redis';
import { DPOP_CLIENT, startDPoPIdp, type DPoPIdp } from '../support/oidc-idp.js';
import { deleteTestKeys, TEST_REDIS_URL, testRedisAvailable, uniquePrefix } from '../support/redis-test-server.js';

const hasRedis = await testRedisAvailable('DPoP with Redis e2e');

describe.skipIf(!hasRedis)('DPoP-bound tokens in a shared Redis store', () => {
  let idp: DPoPIdp;
  let admin: Redis;
  beforeAll(async () => {
    idp = await startDPoPIdp();
    admin = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    admin?.disconnect();
    await deleteTestKeys();
    await idp?.close();
  });

  it('instances with the same key share one token; an instance with another key fetches and keeps its own', async () => {
    const keyPrefix = uniquePrefix('dpop');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const instance = (dpop: true | { privateKey: string }) =>
      new TokenCache({
        store: new RedisTokenStore({ url: TEST_REDIS_URL, keyPrefix }),
        sources: { api: clientCredentials({ tokenUrl: idp.tokenUrl, clientId: DPOP_CLIENT.id, clientSecret: DPOP_CLIENT.secret, scope: 'read', dpop }) },
      });
    const [a, b, c] = [instance({ privateKey: pem }), instance({ privateKey: pem }), instance(true)];
    try {
      const ta = await a.getToken('api');
      const tb = await b.getToken('api');
      const tc = await c.getToken('api');
      expect(tb).toBe(ta); // shared through Redis: b did not fetch
      expect(a.stats().fetches + b.stats().fetches).toBe(1);
      expect(tc).not.toBe(ta); // another key: its own token, bound to its own key
      expect(c.stats().fetches).toBe(1);
      expect((await idp.lookup(ta))?.jkt).toBe(a.dpopKey('api')!.thumbprint);
      expect((await idp.lookup(tc))?.jkt).toBe(c.dpopKey('api')!.thumbprint);
      // Two keys in Redis, each named by its thumbprint; no private key material in any of them.
      const keys = (await admin.keys(`${keyPrefix}*`)).filter((k) => k.includes('jkt='));
      expect(keys.some((k) => k.includes(a.dpopKey('api')!.thumbprint))).toBe(true);
      expect(keys.some((k) => k.includes(c.dpopKey('api')!.thumbprint))).toBe(true);
      const d = (privateKey.export({ format: 'jwk' }) as { d: string }).d;
      for (const k of await admin.keys(`${keyPrefix}*`)) {
        const type = await admin.type(k);
        const value = type === 'string' ? await admin.get(k) : type === 'hash' ? JSON.stringify(await admin.hgetall(k)) : '';
        expect(value ?? '').not.toContain(d);
        expect(value ?? '').not.toContain(pem.split('\n')[1]);
      }
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });
});
