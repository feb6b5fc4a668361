import { describe, expect, it } from 'vitest';
import { sourceKey } from './cache-key.js';
import { TokenCacheConfigError } from './token-cache.errors.js';
import type { TokenParams } from './token-cache.types.js';
import { checkedKey, renewRequest, toRequest } from './token-request.js';

describe('toRequest', () => {
  it('no parameters: only the source', () => {
    expect(toRequest('api', undefined)).toEqual({ source: 'api' });
  });

  it('keeps the non-empty parameters, scopes sorted and de-duplicated; empty strings and empty scope lists are left out', () => {
    expect(toRequest('api', { subject: 'u', scopes: ['b', 'a', 'b'], audience: 'x', resource: 'https://r', subjectToken: 'st' })).toEqual({
      source: 'api',
      subject: 'u',
      scopes: ['a', 'b'],
      audience: 'x',
      resource: 'https://r',
      subjectToken: 'st',
    });
    expect(toRequest('api', { subject: '', scopes: [], audience: '', resource: '', subjectToken: '' })).toEqual({ source: 'api' });
  });

  it('never shares the caller\'s scopes array: changing it afterwards changes nothing', () => {
    const scopes = ['a'];
    const request = toRequest('api', { scopes });
    scopes.push('z');
    expect(request.scopes).toEqual(['a']);
  });
});

describe('renewRequest', () => {
  const stored = { accessToken: 't', tokenType: 'Bearer', expiresAt: 1, receivedAt: 0, source: 'api', subject: 'u', requestedScopes: ['a'], audience: 'x', resource: 'https://r' };

  it('asks again for what the entry\'s key stands for, never with its token', () => {
    const request = renewRequest(stored);
    expect(request).toMatchObject({ source: 'api', subject: 'u', scopes: ['a'], audience: 'x', resource: 'https://r' });
    expect(JSON.stringify(request)).not.toContain('"t"');
    expect(request).not.toHaveProperty('subjectToken');
  });

  it('lends the caller\'s subject token when it has a non-empty one', () => {
    expect(renewRequest(stored, 'st').subjectToken).toBe('st');
    expect(renewRequest(stored, '')).not.toHaveProperty('subjectToken');
  });
});

describe('checkedKey', () => {
  const base = sourceKey('api');

  it('different parameter sets get different keys; the same set (scopes in any order) the same key', () => {
    const sets: TokenParams[] = [{}, { subject: 'a' }, { subject: 'a|b' }, { audience: 'a' }, { resource: 'a' }, { scopes: ['a'] }, { scopes: ['a', 'b'] }, { subject: 'a', audience: 'b' }];
    const keys = sets.map((p) => checkedKey(base, p));
    expect(new Set(keys).size).toBe(sets.length);
    expect(checkedKey(base, { scopes: ['b', 'a'] })).toBe(checkedKey(base, { scopes: ['a', 'b'] }));
  });

  it('bad parameters are a TokenCacheConfigError naming the field', () => {
    expect(() => checkedKey(base, { subject: 5 } as never)).toThrow(TokenCacheConfigError);
    expect(() => checkedKey(base, { subject: 5 } as never)).toThrow(/subject/);
    expect(() => checkedKey(base, { scopes: 'a' } as never)).toThrow(/scopes/);
  });
});
