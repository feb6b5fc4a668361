import { createHash } from 'node:crypto';
import { decodeJwt, EmbeddedJWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { resolveDPoPOption } from './dpop-key.js';
import { headerPresentation } from '../token-retry.js';
import { classifyDPoPReply, dpopPresentation } from './dpop-presentation.js';

const key = () => resolveDPoPOption('x.dpop', true)!.key;
const request = { method: 'POST', url: 'https://api.example/v1/orders?page=2#x' };
const headers = (h: Record<string, unknown>) => (name: string) => h[name];

describe('dpopPresentation', () => {
  it('sends Authorization: DPoP <token> with a fresh proof per attempt (htm, htu, ath, remembered nonce)', async () => {
    const k = key();
    const p = dpopPresentation({ key: k, header: 'Authorization', fallback: headerPresentation('Authorization', 'Bearer'), tokenTypeOf: () => 'DPoP' });
    expect(p.headerNames).toEqual(['Authorization', 'DPoP']);
    const first = await p.headers('tok-1', request);
    expect(first.Authorization).toBe('DPoP tok-1');
    const { payload } = await jwtVerify(first.DPoP!, EmbeddedJWK, { typ: 'dpop+jwt' });
    expect(payload).toMatchObject({ htm: 'POST', htu: 'https://api.example/v1/orders', ath: createHash('sha256').update('tok-1').digest('base64url') });
    expect(payload.nonce).toBeUndefined();
    k.nonces.remember('https://api.example/other', 'n-9');
    const second = await p.headers('tok-1', request);
    expect(decodeJwt(second.DPoP!).nonce).toBe('n-9');
    expect(decodeJwt(second.DPoP!).jti).not.toBe(payload.jti);
  });

  it('sends a token the IdP issued as Bearer as a plain Bearer token, without a proof', async () => {
    const p = dpopPresentation({ key: key(), header: 'Authorization', fallback: headerPresentation('Authorization', 'Bearer'), tokenTypeOf: () => 'bearer' });
    expect(await p.headers('tok-1', request)).toEqual({ Authorization: 'Bearer tok-1' });
  });
});

describe('classifyDPoPReply', () => {
  it('a 401 use_dpop_nonce with a DPoP-Nonce: retry with the same token, the nonce kept for the origin', () => {
    const k = key();
    expect(classifyDPoPReply(k, 401, headers({ 'www-authenticate': 'DPoP error="use_dpop_nonce"', 'dpop-nonce': 'n1' }), request)).toBe('retry-same-token');
    expect(k.nonces.get('https://api.example/')).toBe('n1');
  });

  it('a use_dpop_nonce without a (valid) nonce header is a plain rejection', () => {
    const k = key();
    expect(classifyDPoPReply(k, 401, headers({ 'www-authenticate': 'DPoP error="use_dpop_nonce"' }), request)).toBe('token-rejected');
    expect(classifyDPoPReply(k, 401, headers({ 'www-authenticate': 'DPoP error="use_dpop_nonce"', 'dpop-nonce': 'a b' }), request)).toBe('token-rejected');
  });

  it('other 401s and invalid_token challenges reject the token; the rest is accepted (a nonce on a 200 is kept)', () => {
    const k = key();
    expect(classifyDPoPReply(k, 401, headers({ 'www-authenticate': 'DPoP error="invalid_token"' }), request)).toBe('token-rejected');
    expect(classifyDPoPReply(k, 401, headers({}), request)).toBe('token-rejected');
    expect(classifyDPoPReply(k, 403, headers({ 'www-authenticate': 'DPoP error="invalid_token"' }), request)).toBe('token-rejected');
    expect(classifyDPoPReply(k, 403, headers({ 'www-authenticate': 'Bearer error="invalid_token"' }), request)).toBe('token-rejected');
    expect(classifyDPoPReply(k, 403, headers({ 'www-authenticate': 'DPoP error="insufficient_scope"' }), request)).toBe('accepted');
    expect(classifyDPoPReply(k, 400, headers({ 'www-authenticate': 'DPoP error="use_dpop_nonce"', 'dpop-nonce': 'n2' }), request)).toBe('accepted');
    expect(classifyDPoPReply(k, 200, headers({ 'dpop-nonce': 'n3' }), request)).toBe('accepted');
    expect(k.nonces.get('https://api.example/')).toBe('n3');
  });
});
