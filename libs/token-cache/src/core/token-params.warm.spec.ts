// Parameter validation on the warm paths: a key remembered by the memo (KeyMemo) never lets a bad parameter
// set through, never hands back a stale key, and no two different parameter sets share a key (property test).
import { describe, expect, it } from 'vitest';
import { appendParams, KeyMemo } from './cache-key.js';
import { TokenCacheConfigError } from './token-cache.errors.js';
import { TokenCache } from './token-cache.js';
import type { TokenParams, TokenRequest } from './token-cache.types.js';
import { FakeClock } from './testing/fake-clock.js';
import { ScriptedSource } from './testing/scripted-source.js';

/** The request a parameter set asks for, canonical: what must decide the key, and nothing else. */
function canonical(p: TokenParams | TokenRequest): string {
  const scopes = p.scopes === undefined ? [] : [...new Set(p.scopes.flatMap((s) => s.split(/\s+/)).filter(Boolean))].sort();
  return JSON.stringify([p.subject || null, scopes.length ? scopes : null, p.audience || null, p.resource || null, p.subjectToken || null]);
}
/** A header-safe token naming the request it was fetched for. */
const tokenFor = (r: TokenRequest) => `t.${Buffer.from(canonical(r)).toString('base64url')}`;

const make = () => {
  const api = new ScriptedSource((r) => ({ accessToken: tokenFor(r), expiresIn: 600 }));
  return { api, cache: new TokenCache({ sources: { api }, clock: new FakeClock() }) };
};

class Params {
  constructor(readonly subject: string) {}
}

/** Parameter sets that must be refused even when a valid look-alike was just answered from the memo. */
const BAD: [string, () => unknown][] = [
  ['{ subject, bogus }', () => ({ subject: 'alice', bogus: 1 })],
  ['{ subject, subjet }', () => ({ subject: 'alice', subjet: 'bob' })],
  ['a class instance', () => new Params('alice')],
  ['a Proxy', () => new Proxy({ subject: 'alice' }, {})],
  ['an inherited subject', () => Object.create({ subject: 'alice' }) as object],
  ['an own "__proto__" key', () => JSON.parse('{"subject":"alice","__proto__":{"subject":"bob"}}') as object],
  ['a "constructor" key', () => ({ subject: 'alice', constructor: 'x' })],
  ['a frozen { subject, bogus }', () => Object.freeze({ subject: 'alice', bogus: 1 })],
  ['Object.create(null) with a bogus field', () => Object.assign(Object.create(null) as object, { subject: 'alice', bogus: 1 })],
  ['{ subject: 5 }', () => ({ subject: 5 })],
  ['{ subject: { id } }', () => ({ subject: { id: 'alice' } })],
  ['{ subject: new String() }', () => ({ subject: new String('alice') })],
  ['{ scopes: a Proxy }', () => ({ subject: 'alice', scopes: new Proxy(['read'], {}) })],
  ['{ scopes: [hole] }', () => ({ subject: 'alice', scopes: [, 'read'] })],
  ['{ scopes: "read" }', () => ({ subject: 'alice', scopes: 'read' })],
  ['{ scopes: [1] }', () => ({ subject: 'alice', scopes: [1] })],
  ['an array', () => ['alice']],
  ['null', () => null],
  ['a string', () => 'alice'],
  ['a number', () => 5],
];

/** Valid look-alikes that warm every memo path first: a fresh `{ subject }`, a reused object, the full set. */
const reused = { subject: 'alice' };
const WARMUPS: TokenParams[] = [{ subject: 'alice' }, reused, { subject: 'alice', scopes: ['read'] }];

describe('warm paths never skip parameter validation', () => {
  const asyncMethods = ['getToken', 'getCachedToken', 'refresh', 'invalidate'] as const;
  for (const method of asyncMethods) {
    it.each(BAD)(`${method}('api', %s) after valid look-alikes were answered: rejects, never throws, fetches nothing`, async (_what, bad) => {
      const { api, cache } = make();
      for (let i = 0; i < 3; i++) for (const p of WARMUPS) await cache.getToken('api', p);
      const fetches = api.count;
      const before = cache.entries().map((e) => e.key);
      let result: Promise<unknown> | undefined;
      expect(() => (result = (cache[method] as (s: string, p: unknown) => Promise<unknown>)('api', bad()))).not.toThrow();
      await expect(result).rejects.toBeInstanceOf(TokenCacheConfigError);
      expect(api.count).toBe(fetches);
      expect(cache.entries().map((e) => e.key)).toEqual(before);
      await cache.close();
    });
  }

  for (const method of ['peek', 'warmToken'] as const) {
    it.each(BAD)(`${method}('api', %s) after valid look-alikes were answered: throws TokenCacheConfigError`, async (_what, bad) => {
      const { cache } = make();
      for (let i = 0; i < 3; i++) for (const p of WARMUPS) await cache.getToken('api', p);
      expect(() => (cache[method] as (s: string, p: unknown) => unknown)('api', bad())).toThrow(TokenCacheConfigError);
      await cache.close();
    });
  }

  it('symbol keys are ignored and a getter is read like a field, on cold and warm paths alike', async () => {
    const { cache } = make();
    const withSymbol = () => ({ subject: 'alice', [Symbol('trace')]: 1 });
    const withGetter = () => ({ get subject() { return 'alice'; } });
    const alice = tokenFor({ source: 'api', subject: 'alice' });
    for (let i = 0; i < 3; i++) {
      for (const p of [withSymbol(), withGetter()]) {
        expect(await cache.getToken('api', p)).toBe(alice);
        expect((await cache.getCachedToken('api', p)).accessToken).toBe(alice);
        expect(cache.peek('api', p)?.accessToken).toBe(alice);
        expect(cache.warmToken('api', p)).toBe(alice);
      }
    }
    expect(cache.entries()).toHaveLength(1);
    await cache.close();
  });

  it('a params object whose key field changes to a bad value after it was answered is checked again', async () => {
    const { cache } = make();
    const p: Record<string, unknown> = { subject: 'alice', scopes: ['read'] };
    await cache.getToken('api', p as TokenParams);
    expect(cache.peek('api', p as TokenParams)).toBeDefined();
    p.subject = 5;
    await expect(cache.getToken('api', p as TokenParams)).rejects.toMatchObject({ name: 'TokenCacheConfigError', option: 'subject' });
    expect(() => cache.peek('api', p as TokenParams)).toThrow(TokenCacheConfigError);
    expect(() => cache.warmToken('api', p as TokenParams)).toThrow(TokenCacheConfigError);
    p.subject = 'alice';
    (p.scopes as unknown[]).push(7);
    await expect(cache.getToken('api', p as TokenParams)).rejects.toMatchObject({ option: 'scopes' });
    p.scopes = ['read'];
    p.subjet = 'bob';
    p.subject = 'carol'; // a key field changed: the whole object is checked again, the misspelt field too
    await expect(cache.getToken('api', p as TokenParams)).rejects.toMatchObject({ option: 'subjet' });
    await cache.close();
  });

  it('the same object mutated between calls is always answered for what it holds now (never a stale key)', async () => {
    const { cache } = make();
    const p: TokenParams = { subject: 'alice' };
    const frozen = Object.freeze({ subject: 'carol', scopes: Object.freeze(['b', 'a']) as string[] });
    for (let round = 0; round < 3; round++) {
      for (const [subject, scopes, audience] of [
        ['alice', undefined, undefined],
        ['bob', undefined, undefined],
        ['bob', ['read'], undefined],
        ['bob', ['read'], 'https://a'],
        ['alice', ['write', 'read'], 'https://a'],
      ] as const) {
        p.subject = subject;
        if (scopes === undefined) delete p.scopes;
        else p.scopes = [...scopes];
        if (audience === undefined) delete p.audience;
        else p.audience = audience;
        expect(await cache.getToken('api', p)).toBe(tokenFor({ source: 'api', ...p }));
        expect(cache.peek('api', p)?.accessToken).toBe(tokenFor({ source: 'api', ...p }));
        expect(cache.warmToken('api', p)).toBe(tokenFor({ source: 'api', ...p }));
      }
      expect(await cache.getToken('api', frozen)).toBe(tokenFor({ source: 'api', ...frozen }));
    }
    await cache.close();
  });

  it('a getter answering differently on each read never stores one subject\'s token under another\'s key', async () => {
    const { cache } = make();
    let reads = 0;
    const flipping = () => ({ get subject() { return reads++ % 2 === 0 ? 'alice' : 'bob'; } });
    for (let i = 0; i < 6; i++) await cache.getToken('api', flipping()).catch((e: unknown) => expect(e).toBeInstanceOf(TokenCacheConfigError));
    for (const entry of cache.entries()) {
      expect(cache.peek('api', entry.subject === undefined ? undefined : { subject: entry.subject })?.accessToken).toBe(tokenFor({ source: 'api', subject: entry.subject }));
    }
    await cache.close();
  });

  it('getToken with any source value (a symbol, Object.create(null), a throwing toString) rejects, never throws', async () => {
    const { cache } = make();
    for (const source of [Symbol('s'), Object.create(null), { toString: () => { throw new Error('x'); } }, 5, null, undefined]) {
      let result: Promise<unknown> | undefined;
      expect(() => (result = cache.getToken(source as never))).not.toThrow();
      await expect(result).rejects.toMatchObject({ name: 'UnknownTokenSourceError' });
    }
    await cache.close();
  });
});

describe('no two different parameter sets share a key (property test)', () => {
  // Values chosen to hit the key format's separators and escapes, empty strings and whitespace.
  const VALUES = ['', 'a', 'b', 'a|b', '|sub=a', 'a b', '%7C', '%', '=', '+', 'a+b', ' ', 'é', 'a\tb', '|scope=a', '|aud=x', 'x|res=y'];
  const SCOPES = ['read', 'write', 'a b', 'a+b', '', 'a', 'b', '|', 'read read'];
  // mulberry32: a seeded generator, so a failure replays.
  let seed = 42;
  const rnd = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) % n);
  };
  const pick = <T>(list: readonly T[]): T => list[rnd(list.length)]!;
  const randomParams = (): TokenParams => {
    const p: TokenParams = {};
    if (rnd(2)) p.subject = pick(VALUES);
    if (rnd(3) === 0) p.scopes = Array.from({ length: rnd(4) }, () => pick(SCOPES));
    if (rnd(3) === 0) p.audience = pick(VALUES);
    if (rnd(4) === 0) p.resource = pick(VALUES);
    if (rnd(5) === 0) p.subjectToken = pick(VALUES.filter(Boolean));
    return p;
  };
  const sets = Array.from({ length: 3000 }, randomParams);

  it('appendParams: equal requests share a key, different requests never do', () => {
    const byKey = new Map<string, string>();
    const byRequest = new Map<string, string>();
    for (const p of sets) {
      const key = appendParams('api', p);
      const request = canonical(p);
      expect(byKey.get(key) ?? request, `${key} for ${request}`).toBe(request);
      expect(byRequest.get(request) ?? key).toBe(key);
      byKey.set(key, request);
      byRequest.set(request, key);
    }
    expect(byKey.size).toBeGreaterThan(400);
  });

  it('KeyMemo returns what appendParams builds, for fresh objects, reused objects and objects mutated in between', () => {
    const memo = new KeyMemo('api', 64);
    const shared: TokenParams = {};
    for (const p of sets) {
      expect(memo.keyOf({ ...p })).toBe(appendParams('api', p));
      expect(memo.keyOf(p)).toBe(appendParams('api', p));
      for (const k of Object.keys(shared) as (keyof TokenParams)[]) delete shared[k];
      Object.assign(shared, p);
      expect(memo.keyOf(shared)).toBe(appendParams('api', p));
    }
  });

  it('the cache hands every parameter set the token fetched for its own request, on cold and warm paths', async () => {
    const { api, cache } = make();
    for (let round = 0; round < 2; round++) {
      for (const p of sets.slice(0, 600)) {
        const expected = tokenFor({ source: 'api', ...p });
        expect(await cache.getToken('api', round ? { ...p } : p)).toBe(expected);
        expect(cache.peek('api', p)?.accessToken).toBe(expected);
      }
    }
    expect(api.count).toBe(new Set(sets.slice(0, 600).map(canonical)).size);
    await cache.close();
  });
});
