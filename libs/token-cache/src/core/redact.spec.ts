import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TokenFetchError } from './token-cache.errors.js';
import { REDACTED, redact, redactError, revealsSecret, secretForms } from './redact.js';

/** Secrets with every character class an encoder treats differently. */
const SECRETS = [
  'cs-7f3a91d2-client-secret-value',
  'cl:ient%2B+secret ✓',
  "a/b+c=d&e f!g'h(i)j*k~l_m.n-o",
  'rt/0123+456==',
  'ünïcödé-sécret-日本',
  'quote"back\\slash',
];

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const b64url = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
/** openid-client's (oauth4webapi's) form encoding of a Basic credential's parts. */
const oauthForm = (s: string) => encodeURIComponent(s).replace(/(?:[-_.!~*'()]|%20)/g, (m) => (m === '%20' ? '+' : `%${m.charCodeAt(0).toString(16).toUpperCase()}`));
const form = (s: string) => new URLSearchParams({ x: s }).toString().slice(2);

/** Every encoding an IdP, a proxy or an SDK has been seen echoing a secret in. */
function encodings(secret: string): [string, string][] {
  return [
    ['raw', secret],
    ['encodeURIComponent', encodeURIComponent(secret)],
    ['encodeURIComponent, lower-case hex', encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())],
    ['form-encoded (URLSearchParams, + for space)', form(secret)],
    ['form-encoded (RFC 6749 §2.3.1)', oauthForm(secret)],
    ['encodeURI', encodeURI(secret)],
    ['JSON-escaped', JSON.stringify(secret).slice(1, -1)],
    ['base64', b64(secret)],
    ['base64url', b64url(secret)],
    ['base64 of the form-encoded value', b64(oauthForm(secret))],
    ['Basic base64(id:secret), id of 1 char', b64(`c:${secret}`)],
    ['Basic base64(id:secret), id of 2 chars', b64(`cc:${secret}`)],
    ['Basic base64(id:secret), id of 3 chars', b64(`svc:${secret}`)],
    ['Basic base64(form(id):form(secret))', b64(`${oauthForm('my client')}:${oauthForm(secret)}`)],
    ['Basic base64url(id:secret)', b64url(`client-x:${secret}`)],
    ['base64 of a JSON blob holding it', b64(JSON.stringify({ client_secret: secret, n: 1 }))],
  ];
}

describe('redact: a secret in every encoding', () => {
  for (const secret of SECRETS) {
    it.each(encodings(secret))(`${JSON.stringify(secret)} %s`, (_what, encoded) => {
      const text = `upstream said: <${encoded}> (end)`;
      const out = redact(text, [secret]);
      expect(out).toContain(REDACTED);
      // What is left reveals no run of the encoded secret long enough to matter (a base64 edge keeps <= 2 chars).
      expect(out).not.toContain(encoded);
      expect(out.startsWith('upstream said: <')).toBe(true);
      expect(out.endsWith('> (end)')).toBe(true);
    });
  }

  it('redacts a Basic credential by its scheme even for an unknown secret', () => {
    expect(redact('Authorization: Basic Yzpzb21ldGhpbmc=')).toBe(`Authorization: Basic ${REDACTED}`);
    expect(redact('authorization: bearer abc.def')).toBe(`authorization: bearer ${REDACTED}`);
    expect(redact('DPoP abc')).toBe(`DPoP ${REDACTED}`);
  });

  it('redacts JWTs by shape', () => {
    expect(redact('token eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.sig here')).toBe(`token ${REDACTED} here`);
  });

  it('leaves text without secrets as it was, and ignores secrets too short to tell apart', () => {
    const text = 'The token endpoint answered HTTP 503 (server_error).';
    expect(redact(text, ['cs-7f3a91d2-client-secret-value', 'abc', ''])).toBe(text);
    expect(redact('an abc here', ['abc'])).toBe('an abc here');
    expect(revealsSecret(text, SECRETS)).toBe(false);
    expect(revealsSecret(`x ${b64(`c:${SECRETS[0]}`)}`, SECRETS)).toBe(true);
  });

  it('ignores non-string entries in the list', () => {
    expect(redact('a secret-value', [undefined as never, 5 as never, 'secret-value'])).toBe(`a ${REDACTED}`);
  });

  it('lists the longest forms first so a longer encoding is removed whole', () => {
    const forms = secretForms(SECRETS[1]!);
    for (let i = 1; i < forms.length; i++) expect(forms[i - 1]!.length).toBeGreaterThanOrEqual(forms[i]!.length);
  });
});

describe('redactError: message, stack, OAuth fields, cause chain, util.inspect', () => {
  const SECRET = 'cl:ient%2B+secret ✓';

  it('cleans message, stack and oauthErrorDescription, and drops an oauthError that holds a secret', () => {
    const e = new TokenFetchError(`failed with ${form(SECRET)}`, { oauthError: oauthForm(SECRET), oauthErrorDescription: `echo ${b64(`c:${SECRET}`)}` });
    redactError(e, [SECRET]);
    expect(e.message).toBe(`failed with ${REDACTED}`);
    expect(e.stack).not.toContain(form(SECRET));
    expect(e.oauthError).toBeUndefined();
    expect(e.oauthErrorDescription).toContain(REDACTED);
    expect(Object.keys(e)).toContain('oauthErrorDescription');
    expect(Object.keys(e)).not.toContain('message');
  });

  it('cleans every level of the cause chain, without changing the caller\'s own error objects', () => {
    const root = Object.assign(new Error(`connect with password ${encodeURIComponent(SECRET)}`), { code: 'EAUTH', detail: `key=${b64(SECRET)}` });
    const middle = new Error('login SDK failed', { cause: root });
    const e = new TokenFetchError('fetching failed', { cause: middle });
    redactError(e, [SECRET]);
    const shown = inspect(e, { depth: 10 });
    for (const [, encoded] of encodings(SECRET)) expect(shown).not.toContain(encoded);
    expect(shown).toContain('login SDK failed');
    expect(shown).toContain('EAUTH');
    const cause = (e.cause as Error).cause as Error & { code?: string };
    expect(cause.message).toBe(`connect with password ${REDACTED}`);
    expect(cause.code).toBe('EAUTH');
    expect(cause.name).toBe('Error');
    // The caller's objects are untouched; the error now holds redacted copies.
    expect(root.message).toContain(encodeURIComponent(SECRET));
    expect(e.cause).not.toBe(middle);
  });

  it('keeps a cause that reveals nothing as the same object', () => {
    const cause = Object.assign(new Error('ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const e = new TokenFetchError('x', { cause });
    redactError(e, [SECRET]);
    expect(e.cause).toBe(cause);
  });

  it('a non-Error cause that reveals a secret is replaced; a cycle ends the walk', () => {
    const e = new TokenFetchError('x', { cause: { password: SECRET } });
    redactError(e, [SECRET]);
    expect(e.cause).toBe(REDACTED);
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error(`b ${SECRET}`, { cause: a });
    a.cause = b;
    const top = new TokenFetchError('top', { cause: b });
    redactError(top, [SECRET]);
    expect(inspect(top, { depth: 6 })).not.toContain(SECRET);
    const s = new TokenFetchError('s', { cause: `string cause ${SECRET}` });
    redactError(s, [SECRET]);
    expect(s.cause).toBe(`string cause ${REDACTED}`);
  });
});

describe('redact: prose after a scheme name', () => {
  it('keeps the library\'s own sentences readable while still removing credentials after a scheme', () => {
    const prose = 'only Bearer, and DPoP with the source\'s "dpop" option. Ask for Bearer tokens. Nothing was cached.';
    expect(redact(prose)).toBe(prose);
    expect(redact('a DPoP-bound token sent as Bearer is rejected')).toBe('a DPoP-bound token sent as Bearer is rejected');
    expect(redact('WWW-Authenticate: Bearer error="invalid_token", Basic realm="x"')).toBe('WWW-Authenticate: Bearer error="invalid_token", Basic realm="x"');
    expect(redact('got Bearer abc123XYZ and DPoP tokenvalue and Basic dXNlcjpwYXNz')).toBe(`got Bearer ${REDACTED} and DPoP ${REDACTED} and Basic ${REDACTED}`);
  });
});
