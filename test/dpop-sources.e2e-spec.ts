/**
 * DPoP on token requests (RFC 9449 §5, §8) against oidc-provider with DPoP on and nonces required: the
 * sources send a proof, answer `use_dpop_nonce` with one retry, keep the nonce for later requests, and get
 * tokens bound to their key; the key's thumbprint is part of the cache key.
 */
import { generateKeyPairSync } from 'node:crypto';
import { inspect } from 'node:util';
import { calculateJwkThumbprint, decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCredentials, refreshTokenGrant, TokenCache, tokenExchange, TokenCacheConfigError, TokenFetchError, type TokenCacheEvent } from 'nestjs-token-cache/core';
import { DPOP_CLIENT, DPOP_REFRESH_CLIENT, startDPoPIdp, type DPoPIdp } from './support/oidc-idp.js';
import { startRawServer } from './support/raw-http-server.js';

describe('DPoP sources against oidc-provider', () => {
  let idp: DPoPIdp;
  beforeAll(async () => {
    idp = await startDPoPIdp();
  });
  afterAll(async () => {
    await idp.close();
  });

  const cc = (dpop: Parameters<typeof clientCredentials>[0]['dpop']) =>
    clientCredentials({ tokenUrl: idp.tokenUrl, clientId: DPOP_CLIENT.id, clientSecret: DPOP_CLIENT.secret, scope: 'read', dpop });

  it('client credentials: a proof, one nonce retry, a token bound to the source key; the nonce is kept for the next request', async () => {
    const cache = new TokenCache({ sources: { api: cc(true) } });
    try {
      const before = idp.requests.length;
      const token = await cache.getCachedToken('api');
      expect(token.tokenType).toBe('DPoP');
      const key = cache.dpopKey('api')!;
      expect(key.alg).toBe('ES256');
      expect((await idp.lookup(token.accessToken))?.jkt).toBe(key.thumbprint);
      const seen = idp.requests.slice(before);
      expect(seen.map((r) => r.status)).toEqual([400, 200]); // use_dpop_nonce, then the retry with the nonce
      expect(seen.every((r) => r.proof !== undefined)).toBe(true);
      expect(decodeJwt(seen[0]!.proof!).nonce).toBeUndefined();
      expect(decodeJwt(seen[1]!.proof!).nonce).toEqual(expect.any(String));
      expect(decodeJwt(seen[1]!.proof!).jti).not.toBe(decodeJwt(seen[0]!.proof!).jti);
      // The next fetch uses the nonce it was given: one request.
      await cache.refresh('api');
      expect(idp.requests.slice(before + 2).map((r) => r.status)).toEqual([200]);
      // The thumbprint is part of the key (and of entries()); never the private key.
      expect(cache.entries()[0]!.key).toBe(`api|jkt=${key.thumbprint}`);
    } finally {
      await cache.close();
    }
  });

  it('refresh token grant: the refreshed access token is bound to the key', async () => {
    const refreshToken = await idp.issueRefreshToken();
    const rotated: string[] = [];
    const cache = new TokenCache({
      sources: {
        user: refreshTokenGrant({
          tokenUrl: idp.tokenUrl,
          clientId: DPOP_REFRESH_CLIENT.id,
          clientSecret: DPOP_REFRESH_CLIENT.secret,
          refreshToken,
          onRefreshTokenRotated: (rt) => void rotated.push(rt),
          dpop: true,
        }),
      },
    });
    try {
      const token = await cache.getCachedToken('user');
      expect(token.tokenType).toBe('DPoP');
      expect((await idp.lookup(token.accessToken))?.jkt).toBe(cache.dpopKey('user')!.thumbprint);
      expect(rotated).toHaveLength(1);
    } finally {
      await cache.close();
    }
  });

  it('token exchange: the exchanged token is bound to the key, after one nonce retry; subject tokens never share', async () => {
    const cache = new TokenCache({
      sources: { obo: tokenExchange({ tokenUrl: idp.tokenUrl, clientId: DPOP_CLIENT.id, clientSecret: DPOP_CLIENT.secret, scope: 'read', dpop: true }) },
    });
    try {
      const before = idp.requests.length;
      const alice = await cache.getCachedToken('obo', { subjectToken: 'subject-token-alice-0001' });
      expect(alice.tokenType).toBe('DPoP');
      expect((await idp.lookup(alice.accessToken))?.jkt).toBe(cache.dpopKey('obo')!.thumbprint);
      expect(idp.requests.slice(before).map((r) => r.status)).toEqual([400, 200]);
      expect(idp.subjectTokens.at(-1)).toBe('subject-token-alice-0001');
      const bob = await cache.getToken('obo', { subjectToken: 'subject-token-bob-0002' });
      expect(bob).not.toBe(alice.accessToken);
      expect(idp.requests.slice(before + 2).map((r) => r.status)).toEqual([200]); // the nonce was kept
      expect(JSON.stringify(cache.entries())).not.toContain('subject-token-alice');
    } finally {
      await cache.close();
    }
  });

  it('your own key: the same key on two instances gives the same cache key; another key, another one', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const a = new TokenCache({ sources: { api: cc({ privateKey: pem }) } });
    const b = new TokenCache({ sources: { api: cc({ privateKey: privateKey.export({ format: 'jwk' }) }) } });
    const c = new TokenCache({ sources: { api: cc(true) } });
    try {
      const thumbprint = await calculateJwkThumbprint(privateKey.export({ format: 'jwk' }) as never);
      expect(a.dpopKey('api')!.thumbprint).toBe(thumbprint);
      expect(b.dpopKey('api')!.thumbprint).toBe(thumbprint);
      expect(c.dpopKey('api')!.thumbprint).not.toBe(thumbprint);
      const token = await a.getToken('api');
      expect((await idp.lookup(token))?.jkt).toBe(thumbprint);
      await b.getToken('api', { scopes: ['write'] });
      await c.getToken('api');
      expect(a.entries()[0]!.key).toBe(`api|jkt=${thumbprint}`);
      expect(b.entries()[0]!.key).toBe(`api|jkt=${thumbprint}|scope=write`);
      expect(c.entries()[0]!.key).not.toContain(thumbprint);
      // Nothing the caches show holds the key.
      const d = (privateKey.export({ format: 'jwk' }) as { d: string }).d;
      for (const cache of [a, b]) {
        const shown = [inspect(cache, { depth: 10 }), JSON.stringify(cache.entries()), JSON.stringify(cache.stats()), inspect(cache.dpopKey('api'))].join('\n');
        expect(shown).not.toContain(d);
        expect(shown).not.toContain(pem.split('\n')[1]);
      }
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it('without dpop the same IdP issues a Bearer token and no proof is sent', async () => {
    const cache = new TokenCache({ sources: { api: cc(undefined) } });
    try {
      const before = idp.requests.length;
      const token = await cache.getCachedToken('api');
      expect(token.tokenType).toBe('Bearer');
      expect((await idp.lookup(token.accessToken))?.jkt).toBeUndefined();
      expect(idp.requests.slice(before).map((r) => r.proof)).toEqual([undefined]);
      expect(cache.dpopKey('api')).toBeUndefined();
      expect(cache.entries()[0]!.key).toBe('api');
    } finally {
      await cache.close();
    }
  });

  it('a bad dpop option fails at start naming it', () => {
    expect(() => cc('yes' as never)).toThrow(TokenCacheConfigError);
    expect(() => cc({ privateKey: 'not a key' })).toThrow(expect.objectContaining({ option: 'clientCredentials.dpop.privateKey' }));
    expect(() =>
      refreshTokenGrant({ tokenUrl: idp.tokenUrl, clientId: 'x', refreshToken: 'rt', authMethod: 'none', dpop: { privateKey: generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey, alg: 'ES256' } }),
    ).toThrow(expect.objectContaining({ option: 'refreshTokenGrant.dpop.alg' }));
  });
});

describe('DPoP nonce at a token endpoint that keeps asking', () => {
  it('retries once only: a second use_dpop_nonce is a TokenFetchError, and the user key text is in no message or event', async () => {
    let n = 0;
    const server = await startRawServer((res) => {
      n++;
      res.writeHead(400, { 'content-type': 'application/json', 'dpop-nonce': `nonce-${n}` });
      res.end(JSON.stringify({ error: 'use_dpop_nonce', error_description: 'Authorization server requires nonce in DPoP proof' }));
    });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const cache = new TokenCache({
      sources: { api: clientCredentials({ tokenUrl: `${server.url}/token`, clientId: 'c', clientSecret: 's3cret-value', dpop: { privateKey: pem } }) },
    });
    const events: TokenCacheEvent[] = [];
    cache.events$.subscribe((e) => events.push(e));
    try {
      const error = (await cache.getToken('api').catch((e: unknown) => e)) as TokenFetchError;
      expect(error).toBeInstanceOf(TokenFetchError);
      expect(error.status).toBe(400);
      expect(error.oauthError).toBe('use_dpop_nonce');
      expect(server.requests).toHaveLength(2);
      expect(decodeJwt(server.requests[1]!.headers.dpop as string).nonce).toBe('nonce-1');
      const shown = [inspect(error, { depth: 10, showHidden: true }), JSON.stringify(events), inspect(cache, { depth: 10 })].join('\n');
      for (const line of pem.trim().split('\n').slice(1, -1)) expect(shown).not.toContain(line);
    } finally {
      await cache.close();
      await server.close();
    }
  });
});
