import { describe, expect, it } from 'vitest';
import { harness } from './testing/harness.js';
import type { TokenParams } from './token-cache.types.js';

/** The warm path with parameters remembers keys (KeyMemo): these are the behaviours that must not notice. */
describe('lookups with parameters', () => {
  it('follows a params object the caller mutates between calls: never the previous subject\'s token', async () => {
    const { cache, source } = harness();
    const params: TokenParams = { subject: 'alice', scopes: ['read'] };
    const alice = await cache.getToken('api', params);
    expect(await cache.getToken('api', params)).toBe(alice);
    params.subject = 'bob';
    const bob = await cache.getToken('api', params);
    expect(bob).not.toBe(alice);
    expect(source.calls.at(-1)).toMatchObject({ subject: 'bob', scopes: ['read'] });
    params.scopes!.push('write');
    const bobWrite = await cache.getToken('api', params);
    expect(new Set([alice, bob, bobWrite]).size).toBe(3);
    expect(source.calls.at(-1)).toMatchObject({ subject: 'bob', scopes: ['read', 'write'] });
    expect(cache.peek('api', params)?.accessToken).toBe(bobWrite);
    expect(cache.warmToken('api', params)).toBe(bobWrite);
    params.subject = 'alice';
    params.scopes = ['read'];
    expect(cache.peek('api', params)?.accessToken).toBe(alice);
    expect(await cache.getToken('api', params)).toBe(alice);
    expect(source.count).toBe(3);
  });

  it('keeps what it stored apart from the caller\'s objects: mutating them later changes no entry', async () => {
    const { cache } = harness();
    const scopes = ['read'];
    await cache.getToken('api', { subject: 'alice', scopes });
    scopes.push('admin');
    expect(cache.entries()[0]).toMatchObject({ subject: 'alice', scopes: ['read'] });
    expect(cache.peek('api', { subject: 'alice', scopes: ['read'] })).toBeDefined();
  });

  it('gives a fresh { subject } per call the same entry, and distinct subjects distinct entries', async () => {
    const { cache, source } = harness();
    const subjects = Array.from({ length: 50 }, (_, i) => `user-${i % 10}`);
    const tokens = await Promise.all(subjects.map((subject) => cache.getToken('api', { subject })));
    expect(source.count).toBe(10);
    for (let i = 0; i < subjects.length; i++) expect(tokens[i]).toBe(tokens[i % 10]);
    expect(new Set(tokens).size).toBe(10);
    // Separator characters in a subject never alias another parameter set.
    const tricky = await cache.getToken('api', { subject: 'user-1|aud=x' });
    const split = await cache.getToken('api', { subject: 'user-1', audience: 'x' });
    expect(new Set([tricky, split, tokens[1]]).size).toBe(3);
  });

  it('invalidate and refresh find the same entry through the memo as getToken', async () => {
    const { cache } = harness();
    const params = { subject: 'alice' };
    const first = await cache.getToken('api', params);
    expect(await cache.invalidate('api', { subject: 'alice' }, first)).toBe(true);
    const second = await cache.getToken('api', params);
    expect(second).not.toBe(first);
    const third = await cache.refresh('api', params);
    expect(cache.peek('api', { subject: 'alice' })?.accessToken).toBe(third);
  });
});
