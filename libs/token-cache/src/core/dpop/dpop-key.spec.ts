import { createHash, generateKeyPairSync, KeyObject, webcrypto } from 'node:crypto';
import { inspect } from 'node:util';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, exportJWK, exportPKCS8, generateKeyPair, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { TokenCacheConfigError } from '../token-cache.errors.js';
import { DPoPKey, htuOf, jwkThumbprint, resolveDPoPOption } from './dpop-key.js';

const verify = (proof: string) => jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt' });

/** Every encoding a private key could leak in. */
function privateForms(key: KeyObject): string[] {
  const jwk = key.export({ format: 'jwk' }) as Record<string, string>;
  const pem = key.export({ format: 'pem', type: 'pkcs8' }).toString();
  const der = key.export({ format: 'der', type: 'pkcs8' });
  const d = jwk.d!;
  return [d, Buffer.from(d, 'base64url').toString('base64'), Buffer.from(d, 'base64url').toString('hex'), pem.split('\n')[1]!, der.toString('base64').slice(40, 80)];
}

function expectNoPrivateKey(output: string, key: KeyObject): void {
  for (const form of privateForms(key)) expect(output).not.toContain(form);
}

describe('resolveDPoPOption', () => {
  it('is off for undefined and false', () => {
    expect(resolveDPoPOption('cc.dpop', undefined)).toBeUndefined();
    expect(resolveDPoPOption('cc.dpop', false)).toBeUndefined();
  });

  it('true generates a new ES256 key per call, with its RFC 7638 thumbprint (as jose computes it)', async () => {
    const a = resolveDPoPOption('cc.dpop', true)!.key;
    const b = resolveDPoPOption('cc.dpop', true)!.key;
    expect(a.alg).toBe('ES256');
    expect(a.publicJwk).toEqual({ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String) });
    expect(a.thumbprint).toBe(await calculateJwkThumbprint(a.publicJwk as never));
    expect(a.thumbprint).toMatch(/^[\w-]{43}$/);
    expect(b.thumbprint).not.toBe(a.thumbprint);
  });

  it('takes a PEM, a private JWK, a KeyObject and a non-extractable CryptoKey of the same pair alike', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const jwk = privateKey.export({ format: 'jwk' });
    const crypto = await webcrypto.subtle.importKey('pkcs8', privateKey.export({ format: 'der', type: 'pkcs8' }), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
    const prints = [pem, jwk, privateKey, crypto].map((k) => resolveDPoPOption('x.dpop', { privateKey: k as never })!.key.thumbprint);
    expect(new Set(prints).size).toBe(1);
    const key = resolveDPoPOption('x.dpop', { privateKey: crypto })!.key;
    const { payload } = await verify(await key.proof({ htm: 'get', url: 'https://api.example/a' }));
    expect(payload.htm).toBe('GET');
  });

  it('picks the algorithm from the key: P-384, P-521, RSA (RS256, or PS* on request), Ed25519', async () => {
    const cases: [KeyObject, string | undefined, string][] = [
      [generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey, undefined, 'ES384'],
      [generateKeyPairSync('ec', { namedCurve: 'secp521r1' }).privateKey, undefined, 'ES512'],
      [generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, undefined, 'RS256'],
      [generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'PS384', 'PS384'],
      [generateKeyPairSync('ed25519').privateKey, undefined, 'Ed25519'],
      [generateKeyPairSync('ed25519').privateKey, 'EdDSA', 'EdDSA'],
    ];
    for (const [privateKey, alg, expected] of cases) {
      const key = resolveDPoPOption('x.dpop', { privateKey, alg })!.key;
      expect(key.alg).toBe(expected);
      expect(key.thumbprint).toBe(await calculateJwkThumbprint(key.publicJwk as never));
      const proof = await key.proof({ htm: 'POST', url: 'https://idp.example/token' });
      expect(decodeProtectedHeader(proof).alg).toBe(expected);
      await expect(verify(proof)).resolves.toBeDefined();
    }
  });

  it('accepts the matching public key, and refuses one of another pair', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const other = await generateKeyPair('ES256', { extractable: true });
    const privateKey = await exportPKCS8(pair.privateKey);
    expect(resolveDPoPOption('x.dpop', { privateKey, publicKey: pair.publicKey })!.key.thumbprint).toBe(
      await calculateJwkThumbprint(await exportJWK(pair.publicKey)),
    );
    expect(resolveDPoPOption('x.dpop', { privateKey, publicKey: await exportJWK(pair.publicKey) })).toBeDefined();
    expect(() => resolveDPoPOption('x.dpop', { privateKey, publicKey: other.publicKey })).toThrow(
      expect.objectContaining({ option: 'x.dpop.publicKey', message: expect.stringContaining('does not belong') }),
    );
    expect(() => resolveDPoPOption('x.dpop', { privateKey, publicKey: privateKey })).toThrow(expect.objectContaining({ option: 'x.dpop.publicKey' }));
  });

  it.each([
    ['a string', 'ES256', 'x.dpop'],
    ['a number', 1, 'x.dpop'],
    ['null', null, 'x.dpop'],
    ['an object without privateKey', { alg: 'ES256' }, 'x.dpop'],
    ['a bare KeyObject (not wrapped in { privateKey })', generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey, 'x.dpop'],
    ['garbage PEM', { privateKey: '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----' }, 'x.dpop.privateKey'],
    ['a public key as privateKey', { privateKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey }, 'x.dpop.privateKey'],
    ['a public JWK as privateKey', { privateKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'jwk' }) }, 'x.dpop.privateKey'],
    ['a symmetric JWK', { privateKey: { kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0' } }, 'x.dpop.privateKey'],
    ['an EC key with the wrong alg', { privateKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey, alg: 'ES384' }, 'x.dpop.alg'],
    ['an RSA key with HS256', { privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, alg: 'HS256' }, 'x.dpop.alg'],
    ['an empty alg', { privateKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey, alg: '' }, 'x.dpop.alg'],
    ['a 1024-bit RSA key', { privateKey: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey }, 'x.dpop.privateKey'],
    ['a secp256k1 key', { privateKey: generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey }, 'x.dpop.privateKey'],
    ['an RSA-PSS-only key', { privateKey: generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey }, 'x.dpop.privateKey'],
    ['an X25519 key', { privateKey: generateKeyPairSync('x25519').privateKey }, 'x.dpop.privateKey'],
  ])('refuses %s with a TokenCacheConfigError naming the option', (_name, value, option) => {
    let error: unknown;
    try {
      resolveDPoPOption('x.dpop', value);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TokenCacheConfigError);
    expect((error as TokenCacheConfigError).option).toBe(option);
    expect((error as Error).message).toContain(option);
  });

  it('refuses a CryptoKey that cannot sign, or is public', async () => {
    const pair = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    expect(() => resolveDPoPOption('x.dpop', { privateKey: pair.publicKey })).toThrow(expect.objectContaining({ option: 'x.dpop.privateKey' }));
    const ecdh = await webcrypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
    expect(() => resolveDPoPOption('x.dpop', { privateKey: ecdh.privateKey })).toThrow(expect.objectContaining({ option: 'x.dpop.privateKey' }));
  });

  it('lists the key text the user wrote as secrets (PEM, JWK private members), never a generated one', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(resolveDPoPOption('x.dpop', { privateKey: `${pem}\n` })!.secrets).toEqual([pem.trim(), ...pem.trim().split('\n').slice(1, -1)]);
    const jwk = privateKey.export({ format: 'jwk' }) as Record<string, string>;
    expect(resolveDPoPOption('x.dpop', { privateKey: jwk })!.secrets.sort()).toEqual([jwk.d, jwk.p, jwk.q, jwk.dp, jwk.dq, jwk.qi].sort());
    expect(resolveDPoPOption('x.dpop', true)!.secrets).toEqual([]);
  });

  it('never shows the private key: util.inspect, JSON, String, Object.keys, errors', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    for (const given of [pem, privateKey.export({ format: 'jwk' }), privateKey]) {
      const key = resolveDPoPOption('x.dpop', { privateKey: given as never })!.key;
      await key.keyPair(); // the imported CryptoKey is held too
      const outputs = [
        inspect(key, { depth: 10, showHidden: true }),
        inspect({ source: { dpop: key } }, { depth: 10 }),
        JSON.stringify(key),
        JSON.stringify({ dpop: key }),
        String(key),
        Object.keys(key).join(','),
      ];
      for (const output of outputs) expectNoPrivateKey(output, privateKey);
      expect(inspect(key)).toBe(`DPoPKey { alg: 'ES256', thumbprint: '${key.thumbprint}' }`);
      expect(JSON.parse(JSON.stringify(key))).toEqual({ alg: 'ES256', thumbprint: key.thumbprint });
    }
    // An error about a bad companion key never quotes the private key.
    try {
      resolveDPoPOption('x.dpop', { privateKey: pem, alg: 'ES512' });
    } catch (error) {
      expectNoPrivateKey(inspect(error, { depth: 10, showHidden: true }), privateKey);
    }
  });
});

describe('DPoPKey.proof', () => {
  const now = 1_900_000_000_123;
  const key = resolveDPoPOption('x.dpop', true, () => now)!.key;

  it('is a dpop+jwt with the public jwk, htm, htu without query/fragment/userinfo, iat, a fresh jti, ath and nonce', async () => {
    const token = 'an-access-token.value';
    const proof = await key.proof({ htm: 'post', url: 'https://u:p@api.example:8443/v1/orders?id=5#frag', accessToken: token, nonce: 'n-1' });
    const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', currentDate: new Date(now) });
    expect(protectedHeader).toEqual({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.publicJwk });
    expect(protectedHeader.jwk).not.toHaveProperty('d');
    expect(await calculateJwkThumbprint(protectedHeader.jwk!)).toBe(key.thumbprint);
    expect(payload).toEqual({
      htm: 'POST',
      htu: 'https://api.example:8443/v1/orders',
      iat: Math.floor(now / 1000),
      jti: expect.stringMatching(/^[\w-]{22}$/),
      ath: createHash('sha256').update(token).digest('base64url'),
      nonce: 'n-1',
    });
    const again = await verify(await key.proof({ htm: 'POST', url: 'https://api.example:8443/v1/orders', accessToken: token }));
    expect(again.payload.jti).not.toBe(payload.jti);
    expect(again.payload).not.toHaveProperty('nonce');
  });

  it('omits ath without a token (token requests) and uses the nonce remembered for the origin', async () => {
    key.nonces.remember('https://idp.example/other', 'from-idp');
    const { payload } = await verify(await key.proof({ htm: 'POST', url: new URL('https://idp.example/token') }));
    expect(payload).not.toHaveProperty('ath');
    expect(payload.nonce).toBe('from-idp');
    const elsewhere = await verify(await key.proof({ htm: 'POST', url: 'https://api.example/token' }));
    expect(elsewhere.payload).not.toHaveProperty('nonce');
  });

  it('keyPair() is imported once, with a non-extractable private key', async () => {
    const pair = await key.keyPair();
    expect(await key.keyPair()).toBe(pair);
    expect(pair.privateKey.extractable).toBe(false);
    expect(pair.publicKey.extractable).toBe(true);
    expect(await calculateJwkThumbprint((await webcrypto.subtle.exportKey('jwk', pair.publicKey)) as never)).toBe(key.thumbprint);
  });
});

describe('jwkThumbprint / htuOf', () => {
  it('matches RFC 7638 §3.1 example', () => {
    const jwk = {
      kty: 'RSA',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    };
    expect(jwkThumbprint(jwk)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it('htu drops query, fragment and user info, keeps a non-default port', () => {
    expect(htuOf('https://a:b@x.example:444/p/q?r=1#s')).toBe('https://x.example:444/p/q');
    expect(htuOf('https://x.example:443/')).toBe('https://x.example/');
  });

  it('DPoPKey cannot be built without the option resolver', () => {
    expect(Object.getOwnPropertyNames(DPoPKey.prototype)).toContain('proof');
  });
});
