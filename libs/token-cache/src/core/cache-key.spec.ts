import { describe, expect, it } from 'vitest';
import { cacheKey, normalizeScopes } from './cache-key.js';

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
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('cannot be made to collide through separators inside values', () => {
    expect(cacheKey('api', { subject: 'a|aud=b' })).not.toBe(cacheKey('api', { subject: 'a', audience: 'b' }));
    expect(cacheKey('a|sub=b')).not.toBe(cacheKey('a', { subject: 'b' }));
    expect(cacheKey('api', { scopes: ['a+b'] })).not.toBe(cacheKey('api', { scopes: ['a', 'b'] }));
    expect(cacheKey('api', { audience: 'x', resource: 'y' })).not.toBe(cacheKey('api', { audience: 'y', resource: 'x' }));
  });
});
