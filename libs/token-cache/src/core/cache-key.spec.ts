import { inspect } from 'node:util';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { appendParams, cacheKey, KeyMemo, normalizeScopes } from './cache-key.js';
import type { TokenParams } from './token-cache.types.js';

describe('cacheKey', () => {
  it('is the encoded source name alone without parameters', () => {
    expect(cacheKey('api')).toBe('api');
    expect(cacheKey('my api')).toBe('my%20api');
    expect(cacheKey('api', {})).toBe('api');
  });

  it('sorts and de-duplicates scopes, so their order never splits the cache', () => {
    expect(cacheKey('api', { scopes: ['write', 'read', 'write'] })).toBe(cacheKey('api', { scopes: ['read', 'write'] }));
    expect(normalizeScopes(['b a', 'a', ' c '])).toEqual(['a', 'b', 'c']);
    expect(normalizeScopes([])).toBeUndefined();
    expect(cacheKey('api', { scopes: [] })).toBe('api');
  });

  it('differs when any of subject, scopes, audience or resource differs', () => {
    const keys = [
      cacheKey('api'),
      cacheKey('other'),
      cacheKey('api', { subject: 'alice' }),
      cacheKey('api', { subject: 'bob' }),
      cacheKey('api', { scopes: ['read'] }),
      cacheKey('api', { scopes: ['read', 'write'] }),
      cacheKey('api', { audience: 'https://a' }),
      cacheKey('api', { audience: 'https://b' }),
      cacheKey('api', { resource: 'https://a' }),
      cacheKey('api', { subject: 'alice', scopes: ['read'], audience: 'x', resource: 'y' }),
      cacheKey('api', { subjectToken: 'user-token-1' }),
      cacheKey('api', { subjectToken: 'user-token-2' }),
      cacheKey('api', { subjectToken: 'user-token-1', audience: 'x' }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('cannot be made to collide through separators inside values', () => {
    expect(cacheKey('api', { subject: 'a|aud=b' })).not.toBe(cacheKey('api', { subject: 'a', audience: 'b' }));
    expect(cacheKey('a|sub=b')).not.toBe(cacheKey('a', { subject: 'b' }));
    expect(cacheKey('api', { scopes: ['a+b'] })).not.toBe(cacheKey('api', { scopes: ['a', 'b'] }));
    expect(cacheKey('api', { audience: 'x', resource: 'y' })).not.toBe(cacheKey('api', { audience: 'y', resource: 'x' }));
  });

  it('holds a SHA-256 of the subject token, never the token in any encoding', () => {
    const subjectToken = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1In0.sig+/=';
    const key = cacheKey('obo', { subjectToken, audience: 'api' });
    expect(key).toBe(`obo|aud=api|sbj=${createHash('sha256').update(subjectToken).digest('base64url')}`);
    for (const form of [subjectToken, encodeURIComponent(subjectToken), Buffer.from(subjectToken).toString('base64'), 'eyJzdWIiOiJ1In0']) {
      expect(key).not.toContain(form);
    }
    expect(cacheKey('obo', { subjectToken: '' })).toBe('obo');
  });
});

describe('KeyMemo: the keys of a source, remembered', () => {
  const build = (params: TokenParams) => cacheKey('api', params);
  const fresh = () => new KeyMemo('api', 3);

  it('returns exactly the key appendParams builds, for every shape and on every repeat', () => {
    const memo = fresh();
    const shapes: TokenParams[] = [
      { subject: 'alice' },
      { subject: 'alice', audience: undefined },
      { subject: 'bob', scopes: ['write', 'read'] },
      { scopes: ['read'] },
      { audience: 'https://a', resource: 'https://r' },
      { subject: 'a|aud=b' },
      { subject: 'a', audience: 'b' },
      {},
    ];
    for (let round = 0; round < 3; round++) {
      for (const params of shapes) expect(memo.keyOf(params)).toBe(build(params));
      for (const params of shapes) expect(memo.keyOf({ ...params })).toBe(build(params));
    }
  });

  it('never serves a stale key when the caller mutates its params object afterwards', () => {
    const memo = fresh();
    const params: TokenParams = { subject: 'alice', scopes: ['read'] };
    expect(memo.keyOf(params)).toBe(build({ subject: 'alice', scopes: ['read'] }));
    params.subject = 'bob';
    expect(memo.keyOf(params)).toBe(build({ subject: 'bob', scopes: ['read'] }));
    params.scopes!.push('write'); // same array, changed in place
    expect(memo.keyOf(params)).toBe(build({ subject: 'bob', scopes: ['read', 'write'] }));
    params.scopes![0] = 'admin';
    expect(memo.keyOf(params)).toBe(build({ subject: 'bob', scopes: ['admin', 'write'] }));
    params.scopes = ['other'];
    expect(memo.keyOf(params)).toBe(build({ subject: 'bob', scopes: ['other'] }));
    params.audience = 'https://a';
    expect(memo.keyOf(params)).toBe(build({ subject: 'bob', scopes: ['other'], audience: 'https://a' }));
    delete params.scopes;
    params.resource = 'https://r';
    expect(memo.keyOf(params)).toBe(build({ subject: 'bob', audience: 'https://a', resource: 'https://r' }));
    (params as { subjectToken?: string }).subjectToken = 'later-field';
    let built = 0;
    const counting = new KeyMemo('api', 3, (k, p) => (built++, appendParams(k, p)));
    const p2 = { subject: 'x' } as TokenParams & { subjectToken?: string };
    counting.keyOf(p2);
    p2.subjectToken = 't';
    counting.keyOf(p2);
    expect(built).toBe(2); // a field a later rule adds to the key is never memo-hidden
  });

  it('remembers subject-only keys up to its bound, then forgets the oldest', () => {
    let built = 0;
    const memo = new KeyMemo('api', 2, (k, p) => (built++, appendParams(k, p)));
    memo.keyOf({ subject: 'a' });
    memo.keyOf({ subject: 'a' });
    memo.keyOf({ subject: 'b' });
    expect(built).toBe(2);
    memo.keyOf({ subject: 'c' }); // evicts 'a'
    memo.keyOf({ subject: 'b' });
    expect(built).toBe(3);
    memo.keyOf({ subject: 'a' });
    expect(built).toBe(4);
    // Not plain { subject }: never remembered by subject (a field the key rules may read later).
    memo.keyOf({ subject: 'd', extra: 1 } as TokenParams);
    memo.keyOf({ subject: 'd', extra: 1 } as TokenParams);
    expect(built).toBe(6);
  });

  it('passes anything that is not an object to the builder (which owns validation)', () => {
    const memo = new KeyMemo('api', 2, () => {
      throw new Error('bad params');
    });
    expect(() => memo.keyOf(null as unknown as TokenParams)).toThrow('bad params');
    expect(() => memo.keyOf('alice' as unknown as TokenParams)).toThrow('bad params');
  });
});

describe('KeyMemo and subject tokens (RFC 8693): keyed by digest, remembered nowhere', () => {
  it('gives the digest key every time, and keeps no reference to the token', () => {
    const memo = new KeyMemo('obo', 3);
    const token = 'subject-token-value-0123456789';
    const params = { subjectToken: token, audience: 'orders' };
    const key = memo.keyOf(params);
    expect(key).toBe(appendParams('obo', params));
    expect(key).not.toContain(token);
    expect(memo.keyOf(params)).toBe(key);
    expect(memo.keyOf({ subjectToken: token, audience: 'orders' })).toBe(key);
    expect(memo.keyOf({ subjectToken: `${token}x`, audience: 'orders' })).not.toBe(key);
    expect(inspect(memo, { depth: 10, showHidden: true })).not.toContain(token);
  });
});

describe('KeyMemo: the subject-token shortcut never skips validation', () => {
  it('a fresh { subjectToken, bogus } after a warm { subjectToken } goes through build (which rejects it)', () => {
    const memo = new KeyMemo('obo', 3, (k, p) => {
      if (Object.keys(p).some((n) => !['subject', 'scopes', 'audience', 'resource', 'subjectToken'].includes(n))) throw new Error('bogus field');
      return appendParams(k, p);
    });
    const subjectToken = 'subject-token-for-validation';
    const key = memo.keyOf({ subjectToken });
    expect(memo.keyOf({ subjectToken })).toBe(key);
    expect(() => memo.keyOf({ subjectToken, bogus: 1 } as never)).toThrow('bogus field');
    expect(() => memo.keyOf(new Proxy({ subjectToken }, {}) as never)).not.toThrow(); // build decides (here: accepts)
  });
});
