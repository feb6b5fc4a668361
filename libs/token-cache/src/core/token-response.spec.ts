import { describe, expect, it } from 'vitest';
import { TokenResponseError } from './token-cache.errors.js';
import { jwtExpiresAt, parseOAuthTokenBody, validateTokenResponse } from './token-response.js';

const NOW = Date.UTC(2026, 0, 1);
const TTL = 300_000;
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = (claims: object) => `${b64({ alg: 'none' })}.${b64(claims)}.sig`;

describe('expiry resolution', () => {
  it('prefers expiresAt over everything', () => {
    const at = NOW + 10_000;
    expect(validateTokenResponse({ accessToken: jwt({ exp: 1 }), expiresAt: at, expiresIn: 99 }, 's', NOW, TTL).expiresAt).toBe(at);
    expect(validateTokenResponse({ accessToken: 't', expiresAt: new Date(at) }, 's', NOW, TTL).expiresAt).toBe(at);
  });

  it('reads an epoch-seconds expiresAt as seconds', () => {
    expect(validateTokenResponse({ accessToken: 't', expiresAt: NOW / 1000 + 60 }, 's', NOW, TTL).expiresAt).toBe(NOW + 60_000);
  });

  it('then expiresIn, in seconds (numeric strings accepted)', () => {
    expect(validateTokenResponse({ accessToken: jwt({ exp: 1 }), expiresIn: 60 }, 's', NOW, TTL).expiresAt).toBe(NOW + 60_000);
    expect(validateTokenResponse({ accessToken: 't', expiresIn: '3600' as never }, 's', NOW, TTL).expiresAt).toBe(NOW + 3_600_000);
    expect(validateTokenResponse({ accessToken: 't', expiresIn: 0 }, 's', NOW, TTL).expiresAt).toBe(NOW);
  });

  it('then the JWT exp claim', () => {
    const exp = NOW / 1000 + 120;
    expect(jwtExpiresAt(jwt({ exp }))).toBe(exp * 1000);
    expect(validateTokenResponse({ accessToken: jwt({ exp }) }, 's', NOW, TTL).expiresAt).toBe(exp * 1000);
  });

  it('then the default TTL', () => {
    expect(validateTokenResponse({ accessToken: 'opaque' }, 's', NOW, TTL).expiresAt).toBe(NOW + TTL);
    expect(validateTokenResponse({ accessToken: jwt({ sub: 'x' }) }, 's', NOW, 1000).expiresAt).toBe(NOW + 1000);
    expect(jwtExpiresAt('a.!!!.c')).toBeUndefined();
    expect(jwtExpiresAt(jwt({ exp: 'soon' }))).toBeUndefined();
  });

  it('rejects negative or non-numeric expiresIn with a TokenResponseError', () => {
    for (const expiresIn of [-1, 'soon', Number.NaN, Infinity, {}, null, '']) {
      expect(() => validateTokenResponse({ accessToken: 't', expiresIn: expiresIn as never }, 's', NOW, TTL)).toThrow(TokenResponseError);
    }
  });

  it('rejects a response without an access token', () => {
    for (const r of [undefined, null, 'x', {}, { accessToken: '' }, { accessToken: 5 }, { access_token: 't' }]) {
      expect(() => validateTokenResponse(r, 's', NOW, TTL)).toThrow(TokenResponseError);
    }
  });

  it('defaults the token type to Bearer and keeps granted scopes', () => {
    const v = validateTokenResponse({ accessToken: 't', tokenType: 'bearer', scope: 'b a' }, 's', NOW, TTL);
    expect(v).toMatchObject({ tokenType: 'Bearer', scopes: ['b', 'a'] });
    expect(validateTokenResponse({ accessToken: 't' }, 's', NOW, TTL).tokenType).toBe('Bearer');
    expect(validateTokenResponse({ accessToken: 't', tokenType: 'DPoP' }, 's', NOW, TTL).tokenType).toBe('DPoP');
  });
});

describe('parseOAuthTokenBody', () => {
  it('maps RFC 6749 fields', () => {
    expect(parseOAuthTokenBody('{"access_token":"a","token_type":"bearer","expires_in":"3600","scope":"x y","refresh_token":"r"}', 's')).toEqual({
      accessToken: 'a',
      tokenType: 'bearer',
      expiresIn: 3600,
      scope: 'x y',
      refreshToken: 'r',
    });
  });

  it('rejects HTML, truncated JSON, non-objects, no access_token and bad expires_in', () => {
    for (const body of ['<html>oops</html>', '{"access_token":"a"', '', '[1]', 'null', '{"token":"a"}', '{"access_token":"a","expires_in":-5}', '{"access_token":"a","expires_in":"soon"}', '{"access_token":"a","expires_in":null}']) {
      expect(() => parseOAuthTokenBody(body, 's'), body).toThrow(TokenResponseError);
    }
  });

  it('never echoes the body in its message', () => {
    try {
      parseOAuthTokenBody('{"access_token":"secret-token-value","expires_in":-1}', 's');
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).not.toContain('secret-token-value');
    }
  });
});
