import { describe, expect, it } from 'vitest';
import { TokenResponseError } from './token-cache.errors.js';
import {
  assertHeaderSafeToken,
  isErrorReply,
  jwtExpiresAt,
  jwtTimes,
  parseDurationSeconds,
  parseOAuthTokenBody,
  parseTokenEndpointBody,
  resolveTokenType,
  tokenResponseFromFields,
  validateTokenResponse,
} from './token-response.js';

const NOW = Date.UTC(2026, 0, 1);
const TTL = 300_000;
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = (claims: object) => `${b64({ alg: 'none' })}.${b64(claims)}.sig`;
const rejects = (fn: () => unknown, pattern?: RegExp) => {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(TokenResponseError);
  if (pattern) expect((error as Error).message).toMatch(pattern);
  return error as TokenResponseError;
};

describe('expires_in grammar: a non-negative decimal number or decimal string; 0 is absent', () => {
  it.each([
    [3600, 3600],
    [0.5, 0.5],
    ['3600', 3600],
    ['03600', 3600],
    ['3599.5', 3599.5],
    [1e20, 1e20], // accepted here, capped at maxTtlMs by validateTokenResponse
    ['9'.repeat(400), Number.MAX_VALUE], // a decimal string too long for a double: capped the same way
    [0, undefined],
    ['0', undefined],
    ['0.0', undefined],
    [undefined, undefined],
  ])('%j -> %j', (value, seconds) => expect(parseDurationSeconds(value, 's')).toBe(seconds));

  it('a JSON number literal too large for a double (1e400, 400 digits) reads as the same digits in a string do', () => {
    for (const literal of ['1e400', '9'.repeat(400), '1.5E+309']) {
      const reply = parseOAuthTokenBody(`{"access_token":"t","expires_in":${literal},"refresh_in":${literal}}`, 's', 'application/json');
      expect(reply.expiresIn).toBe(Number.MAX_VALUE);
      expect(reply.refreshIn).toBe(Number.MAX_VALUE);
    }
    // A negative one is still refused, and a function source's Infinity is still an error.
    rejects(() => parseOAuthTokenBody('{"access_token":"t","expires_in":-1e400}', 's', 'application/json'), /expires_in/);
    rejects(() => parseDurationSeconds(Number.POSITIVE_INFINITY, 's'), /Infinity/);
  });

  it.each([
    ['0x10'],
    ['1e3'],
    ['1E3'],
    [' 3600 '],
    ['3600 '],
    ['+3600'],
    ['-1'],
    ['-0'],
    ['3600.'],
    ['.5'],
    ['3,600'],
    ['3600abc'],
    ['Infinity'],
    ['NaN'],
    [''],
    [-1],
    [-0.001],
    [Number.NaN],
    [Infinity],
    [-Infinity],
    [true],
    [false],
    [null],
    [{}],
    [[3600]],
  ])('%j is a TokenResponseError naming the field', (value) => {
    const error = rejects(() => parseDurationSeconds(value, 'api', 'expires_in'), /"expires_in" must be a number of seconds >= 0/);
    expect(error.source).toBe('api');
  });

  it('a bigint is a TokenResponseError too', () => {
    rejects(() => parseDurationSeconds(10n, 's'));
  });

  it('names refresh_in for refresh_in', () => {
    rejects(() => parseDurationSeconds('soon', 's', 'refresh_in'), /"refresh_in"/);
  });
});

describe('expiry resolution: expiresAt, expiresIn, JWT exp, defaultTtlMs; capped at maxTtlMs', () => {
  const rules = { defaultTtlMs: TTL };
  it('prefers expiresAt over everything', () => {
    const at = NOW + 10_000;
    expect(validateTokenResponse({ accessToken: jwt({ exp: 1 }), expiresAt: at, expiresIn: 99 }, 's', NOW, rules)).toMatchObject({ expiresAt: at, expirySource: 'expiresAt' });
    expect(validateTokenResponse({ accessToken: 't', expiresAt: new Date(at) }, 's', NOW, TTL).expiresAt).toBe(at);
  });

  it('reads an epoch-seconds expiresAt as seconds', () => {
    expect(validateTokenResponse({ accessToken: 't', expiresAt: NOW / 1000 + 60 }, 's', NOW, TTL).expiresAt).toBe(NOW + 60_000);
  });

  it('then expiresIn, in seconds (numeric strings accepted); 0 counts as absent', () => {
    expect(validateTokenResponse({ accessToken: jwt({ exp: 1 }), expiresIn: 60 }, 's', NOW, TTL)).toMatchObject({ expiresAt: NOW + 60_000, expiresInMs: 60_000, expirySource: 'expiresIn' });
    expect(validateTokenResponse({ accessToken: 't', expiresIn: '3600' as never }, 's', NOW, TTL).expiresAt).toBe(NOW + 3_600_000);
    expect(validateTokenResponse({ accessToken: 't', expiresIn: 0 }, 's', NOW, TTL)).toMatchObject({ expiresAt: NOW + TTL, expirySource: 'default' });
    const exp = NOW / 1000 + 120;
    expect(validateTokenResponse({ accessToken: jwt({ exp }), expiresIn: 0 }, 's', NOW, TTL)).toMatchObject({ expiresAt: exp * 1000, expirySource: 'jwt' });
  });

  it('then the JWT exp claim (exp and iat are on the result for the timing rules)', () => {
    const exp = NOW / 1000 + 120;
    expect(jwtExpiresAt(jwt({ exp }))).toBe(exp * 1000);
    expect(jwtTimes(jwt({ exp, iat: exp - 600 }))).toEqual({ expMs: exp * 1000, iatMs: (exp - 600) * 1000 });
    expect(validateTokenResponse({ accessToken: jwt({ exp, iat: exp - 600 }) }, 's', NOW, TTL)).toMatchObject({
      expiresAt: exp * 1000,
      jwtExpMs: exp * 1000,
      jwtIatMs: (exp - 600) * 1000,
      receivedAt: NOW,
      expirySource: 'jwt',
    });
  });

  it('then the default TTL', () => {
    expect(validateTokenResponse({ accessToken: 'opaque' }, 's', NOW, TTL).expiresAt).toBe(NOW + TTL);
    expect(validateTokenResponse({ accessToken: jwt({ sub: 'x' }) }, 's', NOW, 1000).expiresAt).toBe(NOW + 1000);
    expect(jwtExpiresAt('a.!!!.c')).toBeUndefined();
    expect(jwtExpiresAt(jwt({ exp: 'soon' }))).toBeUndefined();
    expect(jwtTimes('no-dots')).toEqual({});
    expect(jwtTimes(`x.${Buffer.from('null').toString('base64url')}.y`)).toEqual({});
  });

  it('caps every lifetime at maxTtlMs (default 24 h): every expiresAt is a valid date', () => {
    const day = 86_400_000;
    for (const r of [
      { accessToken: 't', expiresIn: 1e20 },
      { accessToken: 't', expiresIn: '9'.repeat(400) as never },
      { accessToken: 't', expiresIn: Number.MAX_VALUE },
      { accessToken: 't', expiresAt: 8.64e15 },
      { accessToken: jwt({ exp: 1e300 }) },
      { accessToken: 't', expiresIn: 2 * 86_400 },
    ]) {
      const v = validateTokenResponse(r, 's', NOW, TTL);
      expect(v.expiresAt).toBe(NOW + day);
      expect(new Date(v.expiresAt).getTime()).toBe(NOW + day);
    }
    expect(validateTokenResponse({ accessToken: 't', expiresIn: 7200 }, 's', NOW, { defaultTtlMs: TTL, maxTtlMs: 3_600_000 }).expiresAt).toBe(NOW + 3_600_000);
    expect(validateTokenResponse({ accessToken: 't' }, 's', NOW, { defaultTtlMs: TTL, maxTtlMs: 60_000 }).expiresAt).toBe(NOW + 60_000);
  });

  it('refresh_in is parsed to refreshInMs (0 absent, capped)', () => {
    expect(validateTokenResponse({ accessToken: 't', expiresIn: 3600, refreshIn: 1800 }, 's', NOW, TTL).refreshInMs).toBe(1_800_000);
    expect(validateTokenResponse({ accessToken: 't', refreshIn: 0 }, 's', NOW, TTL).refreshInMs).toBeUndefined();
    expect(validateTokenResponse({ accessToken: 't', refreshIn: 1e12 }, 's', NOW, TTL).refreshInMs).toBe(86_400_000);
    rejects(() => validateTokenResponse({ accessToken: 't', refreshIn: '1e3' as never }, 's', NOW, TTL), /refresh_in/);
  });

  it('rejects negative or non-numeric expiresIn with a TokenResponseError', () => {
    for (const expiresIn of [-1, 'soon', Number.NaN, Infinity, {}, null, '', true, '0x10', '1e3']) {
      rejects(() => validateTokenResponse({ accessToken: 't', expiresIn: expiresIn as never }, 's', NOW, TTL));
    }
  });

  it('rejects a bad expiresAt', () => {
    for (const expiresAt of ['2026-01-01', new Date(Number.NaN), Number.NaN, Infinity, true]) {
      rejects(() => validateTokenResponse({ accessToken: 't', expiresAt: expiresAt as never }, 's', NOW, TTL), /expiresAt/);
    }
  });

  it('rejects a response without an access token', () => {
    for (const r of [undefined, null, 'x', {}, { accessToken: '' }, { accessToken: 5 }, { access_token: 't' }, { accessToken: '   ' }]) {
      rejects(() => validateTokenResponse(r, 's', NOW, TTL));
    }
  });

  it('keeps granted scopes and a refresh token', () => {
    const v = validateTokenResponse({ accessToken: 't', tokenType: 'bearer', scope: 'b a', refreshToken: 'r' }, 's', NOW, TTL);
    expect(v).toMatchObject({ tokenType: 'Bearer', scopes: ['b', 'a'], refreshToken: 'r' });
  });
});

describe('header-safe token (RFC 6750 b64token, at most maxTokenBytes)', () => {
  it.each([
    ['abc'],
    ['eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'],
    ['a-b.c_d~e+f/g'],
    ['YWJj=='],
    ['0'],
    ['x'.repeat(16_384)],
  ])('accepts %s', (token) => expect(() => assertHeaderSafeToken(token, 's')).not.toThrow());

  it.each([
    ['a space', 'ab c', /whitespace at position 2/],
    ['a tab', 'ab\tc', /whitespace/],
    ['CR/LF', 'abc\r\nX-Evil: 1', /CR\/LF at position 3/],
    ['a bare LF', 'abc\n', /CR\/LF/],
    ['a NUL', 'ab\0', /control character/],
    ['DEL', 'ab\x7f', /control character/],
    ['non-ASCII', 'tökén', /non-ASCII character at position 1/],
    ['an emoji', 'ab😀', /non-ASCII/],
    ['a quote', 'ab"c', /"""/],
    ['a comma', 'a,b', /","/],
    ['a semicolon', 'a;b', /";"/],
    ['= in the middle', 'ab=c', /"=" \(allowed only at the end.* at position 2,/],
    ['a run of = in the middle', 'ab==cd', /"=" .* at position 2,/],
    ['a leading =', '=abc', /"=" .* at position 0,/],
    ['only =', '===', /"=" .* at position 0,/],
    ['whitespace after trailing =', 'ab= ', /whitespace at position 3,/],
    ['a character after trailing =', 'ab=!', /"!" \(not a b64token character\) at position 3,/],
    ['leading whitespace', ' abc', /whitespace at position 0/],
  ])('rejects %s', (_what, token, message) => {
    const error = rejects(() => assertHeaderSafeToken(token, 's'), message);
    expect(error.message).toContain('RFC 6750 b64token');
    expect(error.message).not.toContain(token);
  });

  it('rejects an empty token, saying so', () => {
    rejects(() => assertHeaderSafeToken('', 's'), /holds nothing \(an empty string\) at position 0/);
  });

  it('rejects a token longer than maxTokenBytes (default 16_384) without echoing it', () => {
    const error = rejects(() => assertHeaderSafeToken('x'.repeat(16_385), 's'), /maxTokenBytes \(16384\)/);
    expect(error.message).not.toContain('xxxxxxxx');
    rejects(() => assertHeaderSafeToken('x'.repeat(101), 's', 100), /maxTokenBytes \(100\)/);
    expect(() => assertHeaderSafeToken('x'.repeat(100), 's', 100)).not.toThrow();
  });

  it('is applied by validateTokenResponse, with the maxTokenBytes rule', () => {
    rejects(() => validateTokenResponse({ accessToken: 'a\r\nb' }, 's', NOW, TTL), /CR\/LF/);
    rejects(() => validateTokenResponse({ accessToken: 'x'.repeat(2000) }, 's', NOW, { defaultTtlMs: TTL, maxTokenBytes: 1000 }), /maxTokenBytes/);
  });
});

describe('token_type', () => {
  it.each([
    [undefined, 'Bearer'],
    [null, 'Bearer'],
    ['', 'Bearer'],
    ['Bearer', 'Bearer'],
    ['bearer', 'Bearer'],
    ['BEARER', 'Bearer'],
    ['bEaReR', 'Bearer'],
  ])('%j is sent as %s', (type, sent) => expect(resolveTokenType(type, 's')).toBe(sent));

  it('DPoP (any case) needs the source\'s dpop option', () => {
    for (const type of ['DPoP', 'dpop', 'DPOP']) {
      expect(resolveTokenType(type, 's', true)).toBe('DPoP');
      rejects(() => resolveTokenType(type, 's'), /has no "dpop" option/);
    }
    expect(validateTokenResponse({ accessToken: 't', tokenType: 'dpop' }, 's', NOW, { defaultTtlMs: TTL, dpop: true }).tokenType).toBe('DPoP');
    rejects(() => validateTokenResponse({ accessToken: 't', tokenType: 'DPoP' }, 's', NOW, TTL), /dpop/);
  });

  it.each([['mac'], ['MAC'], ['N_A'], ['Basic'], ['Bearer '], ['bearer-ish'], ['urn:ietf:params:oauth:token-type:jwt']])(
    '%s is a TokenResponseError naming it',
    (type) => {
      const error = rejects(() => resolveTokenType(type, 's'));
      if (/^[\x21-\x7E]+$/.test(type)) expect(error.message).toContain(`"token_type" is "${type}"`);
    },
  );

  it('a non-string type, or one not printable, is rejected without echoing it', () => {
    for (const type of [5, true, {}, ['Bearer']]) rejects(() => resolveTokenType(type, 's'), /must be a string/);
    const error = rejects(() => resolveTokenType('sec\nret', 's'));
    expect(error.message).toContain('an unreadable value');
  });
});

describe('reply dialects: JSON and form-encoded', () => {
  const expected = { accessToken: 'a', tokenType: 'bearer', expiresIn: 3600, scope: 'x y', refreshToken: 'r' };
  it.each([
    ['JSON', '{"access_token":"a","token_type":"bearer","expires_in":3600,"scope":"x y","refresh_token":"r"}', 'application/json'],
    ['JSON with charset', '{"access_token":"a","token_type":"bearer","expires_in":"3600","scope":"x y","refresh_token":"r"}', 'application/json; charset=utf-8'],
    ['JSON without Content-Type', '{"access_token":"a","token_type":"bearer","expires_in":3600,"scope":"x y","refresh_token":"r"}', null],
    ['JSON as text/plain', '{"access_token":"a","token_type":"bearer","expires_in":3600,"scope":"x y","refresh_token":"r"}', 'text/plain'],
    ['JSON as a vendor type', '{"access_token":"a","token_type":"bearer","expires_in":3600,"scope":"x y","refresh_token":"r"}', 'application/vnd.api+json'],
    ['form (older GitHub, Azure AD v1, Facebook)', 'access_token=a&token_type=bearer&expires_in=3600&scope=x+y&refresh_token=r', 'application/x-www-form-urlencoded'],
    ['form with charset, upper case type', 'access_token=a&token_type=bearer&expires_in=3600&scope=x%20y&refresh_token=r', 'Application/X-WWW-Form-Urlencoded; charset=utf-8'],
    ['form as text/plain', 'access_token=a&token_type=bearer&expires_in=3600&scope=x+y&refresh_token=r\n', 'text/plain'],
    ['form without Content-Type', 'access_token=a&token_type=bearer&expires_in=3600&scope=x+y&refresh_token=r', null],
    ['form with the first of repeated names', 'access_token=a&access_token=b&token_type=bearer&expires_in=3600&scope=x+y&refresh_token=r', 'application/x-www-form-urlencoded'],
  ])('%s', (_what, body, contentType) => {
    expect(parseOAuthTokenBody(body, 's', contentType)).toEqual(expected);
  });

  it('decodes percent-encoded form values (a base64 token with + / =)', () => {
    expect(parseOAuthTokenBody('access_token=ab%2Bc%2Fd%3D%3D&expires_in=60', 's', 'application/x-www-form-urlencoded').accessToken).toBe('ab+c/d==');
  });

  it('Salesforce: no expires_in at all is fine (the default TTL applies later)', () => {
    expect(parseOAuthTokenBody('{"access_token":"00D!x","instance_url":"https://x","token_type":"Bearer","issued_at":"1700000000000"}', 's', 'application/json')).toEqual({
      accessToken: '00D!x',
      tokenType: 'Bearer',
    });
  });

  it('expires_at / expiresAt (not RFC 6749, sent by some token services) is read when expires_in is absent or 0', () => {
    const at = (body: string, type?: string) => parseOAuthTokenBody(body, 's', type ?? 'application/json').expiresAt;
    expect(at('{"access_token":"a","expires_at":1900000000}')).toBe(1_900_000_000);
    expect(at('{"access_token":"a","expires_at":1900000000000}')).toBe(1_900_000_000_000);
    expect(at('{"access_token":"a","expiresAt":"1900000000"}')).toBe(1_900_000_000);
    expect(at('{"access_token":"a","expires_in":0,"expires_at":1900000000}')).toBe(1_900_000_000);
    expect(at('access_token=a&expires_at=1900000000', 'application/x-www-form-urlencoded')).toBe(1_900_000_000);
    expect(at('{"access_token":"a","expires_at":"2030-03-17T10:00:00Z"}')).toEqual(new Date('2030-03-17T10:00:00Z'));
    expect(at('{"access_token":"a","expires_at":"2030-03-17T12:00:00+02:00"}')).toEqual(new Date('2030-03-17T10:00:00Z'));
    expect(at('{"access_token":"a","expires_at":"2028-02-29T23:59:59.5z"}')).toEqual(new Date('2028-02-29T23:59:59.500Z'));
  });

  it('expires_in wins over expires_at when both come (an absolute time is read on the IdP\'s clock); a bad expires_at is then not read', () => {
    const r = parseOAuthTokenBody('{"access_token":"a","expires_in":7200,"expires_at":1900000000}', 's');
    expect(r.expiresIn).toBe(7200);
    expect(r.expiresAt).toBeUndefined();
    expect(parseOAuthTokenBody('{"access_token":"a","expires_in":60,"expires_at":"soon"}', 's').expiresIn).toBe(60);
  });

  it.each([
    ['a word', '"soon"'],
    ['a date without an offset', '"2030-03-17T10:00:00"'],
    ['a loose date', '"March 17, 2030"'],
    ['an impossible date (30 February)', '"2030-02-30T10:00:00Z"'],
    ['29 February of a common year', '"2030-02-29T10:00:00Z"'],
    ['hour 24', '"2030-03-17T24:00:00Z"'],
    ['an offset without a colon', '"2030-03-17T10:00:00+0200"'],
    ['a space for T', '"2030-03-17 10:00:00Z"'],
    ['no seconds', '"2030-03-17T10:00Z"'],
    ['surrounding spaces', '" 1900000000"'],
    ['null', 'null'],
    ['an empty string', '""'],
    ['a negative number', '-5'],
    ['zero', '0'],
    ['a boolean', 'true'],
    ['an object', '{"s":1}'],
  ])('a bad expires_at (%s) without expires_in is a TokenResponseError naming it', (_what, value) => {
    rejects(() => parseOAuthTokenBody(`{"access_token":"a","expires_at":${value}}`, 's'), /"expires_at" must be epoch seconds or milliseconds \(after 1970\), or an RFC 3339 date-time/);
  });

  it('says what is wrong with a string that is not a date that exists', () => {
    rejects(() => parseOAuthTokenBody('{"access_token":"a","expires_at":"2030-02-30T10:00:00Z"}', 's'), /got a string that is neither a decimal number nor an RFC 3339 date-time that exists/);
  });

  it('expiry of a reply with only expires_at: that time; in the past (the IdP\'s clock behind ours): the 1 s minimum applies later', () => {
    const receivedAt = 1_900_000_000_000 - 120_000;
    const valid = validateTokenResponse(parseOAuthTokenBody('{"access_token":"a","expires_at":1900000000}', 's'), 's', receivedAt, 300_000);
    expect(valid.expiresAt).toBe(1_900_000_000_000);
    expect(valid.expirySource).toBe('expiresAt');
  });

  it('refresh_in is read in both dialects', () => {
    expect(parseOAuthTokenBody('{"access_token":"a","expires_in":86400,"refresh_in":43200}', 's').refreshIn).toBe(43_200);
    expect(parseOAuthTokenBody('access_token=a&refresh_in=60', 's', 'application/x-www-form-urlencoded').refreshIn).toBe(60);
  });

  it.each([
    ['HTML', '<html><body>Login</body></html>', 'text/html', /HTML or XML/],
    ['HTML labelled JSON', '<!doctype html><p>proxy error', 'application/json', /HTML or XML/],
    ['truncated JSON', '{"access_token":"abc","expi', 'application/json', /truncated or malformed JSON/],
    ['empty', '', 'application/json', /empty/],
    ['empty form', '', 'application/x-www-form-urlencoded', /empty/],
    ['a JSON array', '[{"access_token":"x"}]', 'application/json', /not an object/],
    ['JSON null', 'null', 'application/json', /not an object/],
    ['a JSON string', '"token"', null, /not an object/],
    ['a bare word', 'ok', null, /neither JSON nor form-encoded/],
    ['no access_token', '{"token_type":"Bearer"}', 'application/json', /no "access_token"/],
    ['a numeric access_token', '{"access_token":123}', 'application/json', /"access_token" is a number/],
    ['an empty access_token in a form', 'access_token=&expires_in=60', 'application/x-www-form-urlencoded', /empty string/],
    ['a form expires_in "0x10"', 'access_token=a&expires_in=0x10', 'application/x-www-form-urlencoded', /expires_in/],
    ['a JSON expires_in "1e3"', '{"access_token":"a","expires_in":"1e3"}', 'application/json', /expires_in/],
    ['a JSON expires_in true', '{"access_token":"a","expires_in":true}', 'application/json', /expires_in/],
    ['a JSON expires_in -1', '{"access_token":"a","expires_in":-1}', 'application/json', /expires_in/],
    ['a JSON expires_in null', '{"access_token":"a","expires_in":null}', 'application/json', /expires_in/],
    ['a numeric token_type', '{"access_token":"a","token_type":1}', 'application/json', /token_type/],
  ])('%s is a TokenResponseError saying what was wrong', (_what, body, contentType, message) => {
    rejects(() => parseOAuthTokenBody(body, 's', contentType), message);
  });

  it('never echoes the body in its message', () => {
    for (const [body, type] of [
      ['{"access_token":"secret-token-value","expires_in":-1}', 'application/json'],
      ['access_token=secret-token-value&expires_in=soon', 'application/x-www-form-urlencoded'],
      ['<p>secret-token-value</p>', 'text/html'],
    ]) {
      const error = rejects(() => parseOAuthTokenBody(body, 's', type));
      expect(error.message).not.toContain('secret-token-value');
    }
  });

  it('an error reply (2xx with error) is recognised in both dialects; null or empty error is no error', () => {
    expect(isErrorReply(parseTokenEndpointBody('{"error":"invalid_grant"}', 'application/json', 's'))).toBe(true);
    expect(isErrorReply(parseTokenEndpointBody('error=invalid_grant&error_description=x', 'application/x-www-form-urlencoded', 's'))).toBe(true);
    expect(isErrorReply({ error: { code: 'x' } })).toBe(true);
    expect(isErrorReply({ access_token: 'a', error: null })).toBe(false);
    expect(isErrorReply({ access_token: 'a', error: '' })).toBe(false);
    rejects(() => parseOAuthTokenBody('{"access_token":"a","error":"invalid_grant"}', 's'), /error reply/);
    expect(tokenResponseFromFields({ access_token: 'a', error: null }, 's').accessToken).toBe('a');
  });
});
