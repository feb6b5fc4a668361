// Parameters of the cache's methods: the pure rule, and every method of the cache fuzzed with wrong types.
import { describe, expect, it } from 'vitest';
import { TokenCacheConfigError } from './token-cache.errors.js';
import { TokenCache } from './token-cache.js';
import { assertTokenParams, isPlainObject } from './token-params.js';
import { ScriptedSource } from './testing/scripted-source.js';
import { FakeClock } from './testing/fake-clock.js';

/** Values of every wrong type. */
const WRONG: [string, unknown][] = [
  ['null', null],
  ['a number', 42],
  ['NaN', Number.NaN],
  ['a boolean', true],
  ['an object', { id: 'alice' }],
  ['an array', ['alice']],
  ['a function', () => 'alice'],
  ['a symbol', Symbol('alice')],
  ['a bigint', 10n],
  ['a Date', new Date(0)],
  ['a String object', new String('alice')],
];

const rejectsWith = (fn: () => unknown, option: string) => {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(TokenCacheConfigError);
  expect((error as TokenCacheConfigError).option).toBe(option);
  expect((error as Error).message).toContain(`"${option}"`);
  return error as TokenCacheConfigError;
};

describe('assertTokenParams', () => {
  it('accepts undefined, {}, and every field with its type (undefined fields count as absent)', () => {
    for (const p of [
      undefined,
      {},
      { subject: 'alice' },
      { subject: '' },
      { scopes: [] },
      { scopes: ['a', 'b'] },
      { audience: 'https://api', resource: 'urn:x', subjectToken: 'eyJ.x.y' },
      { subject: undefined, scopes: undefined },
      Object.assign(Object.create(null) as object, { subject: 'a' }),
    ]) {
      expect(() => assertTokenParams(p, 'getToken'), JSON.stringify(p)).not.toThrow();
    }
  });

  it.each(WRONG.filter(([, v]) => v !== undefined))('params that are %s reject naming "params"', (_what, value) => {
    if (isPlainObject(value)) return; // { id } is a plain object: checked field by field below
    rejectsWith(() => assertTokenParams(value, 'getToken'), 'params');
  });

  it('rejects a string, a Map and a class instance as params', () => {
    rejectsWith(() => assertTokenParams('alice', 'getToken'), 'params');
    rejectsWith(() => assertTokenParams(new Map([['subject', 'a']]), 'getToken'), 'params');
    class P {
      subject = 'a';
    }
    const e = rejectsWith(() => assertTokenParams(new P(), 'getToken'), 'params');
    expect(e.message).toContain('an instance of P');
  });

  for (const field of ['subject', 'audience', 'resource', 'subjectToken']) {
    it.each(WRONG)(`${field} as %s rejects naming "${field}"`, (_what, value) => {
      rejectsWith(() => assertTokenParams({ [field]: value }, 'getToken'), field);
    });
  }

  it.each([...WRONG, ['a string', 'read write']])('scopes as %s rejects naming "scopes"', (_what, value) => {
    if (Array.isArray(value)) return; // ['alice'] is a valid scope list
    rejectsWith(() => assertTokenParams({ scopes: value }, 'getToken'), 'scopes');
  });

  it.each(WRONG)('a scope that is %s rejects naming "scopes" and the index', (_what, value) => {
    const e = rejectsWith(() => assertTokenParams({ scopes: ['ok', value] }, 'getToken'), 'scopes');
    expect(e.message).toContain('scopes[1]');
  });

  it('rejects an unknown field with a did-you-mean', () => {
    expect(rejectsWith(() => assertTokenParams({ subjet: 'a' }, 'getToken'), 'subjet').message).toContain('did you mean "subject"');
    expect(rejectsWith(() => assertTokenParams({ scope: ['a'] }, 'getToken'), 'scope').message).toContain('did you mean "scopes"');
    expect(rejectsWith(() => assertTokenParams({ tenant: 'a' }, 'getToken'), 'tenant').message).not.toContain('did you mean');
    // Symbol keys are not parameters (as JSON.stringify, for…in and Object.keys ignore them).
    expect(() => assertTokenParams({ subject: 'a', [Symbol('s')]: 'a' }, 'getToken')).not.toThrow();
    rejectsWith(() => assertTokenParams(new Proxy({ subject: 'a' }, {}), 'getToken'), 'params');
    rejectsWith(() => assertTokenParams(Object.create({ subject: 'a' }) as object, 'getToken'), 'params');
  });

  it('never echoes a value (a subject token is a secret)', () => {
    const e = rejectsWith(() => assertTokenParams({ subjectToken: ['eyJsecret.token.value'] }, 'getToken'), 'subjectToken');
    expect(e.message).not.toContain('eyJsecret');
  });
});

describe('every method of the cache checks its parameters', () => {
  const make = () => {
    const api = new ScriptedSource((r) => ({ accessToken: `t-${r.subject ?? 'none'}`, expiresIn: 600 }));
    return { api, cache: new TokenCache({ sources: { api }, clock: new FakeClock() }) };
  };
  const asyncMethods = ['getToken', 'getCachedToken', 'refresh', 'invalidate'] as const;
  const bad: [string, unknown][] = [
    ['null', null],
    ['{ subject: { id } }', { subject: { id: 'alice' } }],
    ['{ scopes: "a b" }', { scopes: 'a b' }],
    ['{ subject: 5 }', { subject: 5 }],
    ['a string', 'alice'],
    ['{ subjet }', { subjet: 'a' }],
  ];

  for (const method of asyncMethods) {
    it.each(bad)(`${method}('api', %s) rejects (never throws synchronously) and fetches nothing`, async (_what, params) => {
      const { api, cache } = make();
      let result: Promise<unknown> | undefined;
      expect(() => {
        result = (cache[method] as (s: string, p: unknown) => Promise<unknown>)('api', params);
      }).not.toThrow();
      await expect(result).rejects.toBeInstanceOf(TokenCacheConfigError);
      expect(api.count).toBe(0);
      expect(cache.entries()).toEqual([]);
      await cache.close();
    });
  }

  for (const method of ['peek', 'warmToken'] as const) {
    it.each(bad)(`${method}('api', %s) throws a TokenCacheConfigError`, async (_what, params) => {
      const { cache } = make();
      expect(() => (cache[method] as (s: string, p: unknown) => unknown)('api', params)).toThrow(TokenCacheConfigError);
      await cache.close();
    });
  }

  it('{ subject: { id: "alice" } } and { subject: { id: "bob" } } never share a token', async () => {
    const { api, cache } = make();
    await expect(cache.getToken('api', { subject: { id: 'alice' } } as never)).rejects.toMatchObject({ option: 'subject' });
    await expect(cache.getToken('api', { subject: { id: 'bob' } } as never)).rejects.toMatchObject({ option: 'subject' });
    expect(await cache.getToken('api', { subject: 'alice' })).toBe('t-alice');
    expect(await cache.getToken('api', { subject: 'bob' })).toBe('t-bob');
    expect(api.count).toBe(2);
    await cache.close();
  });

  it('invalidate with a token that is not a string rejects', async () => {
    const { cache } = make();
    await expect(cache.invalidate('api', undefined, 5 as never)).rejects.toMatchObject({ name: 'TokenCacheConfigError', option: 'token' });
    await cache.close();
  });

  it('valid parameters still work through every method', async () => {
    const { cache } = make();
    const p = { subject: 'alice', scopes: ['b', 'a'], audience: 'x', resource: undefined };
    expect(await cache.getToken('api', p)).toBe('t-alice');
    expect((await cache.getCachedToken('api', p)).accessToken).toBe('t-alice');
    expect(cache.peek('api', p)?.accessToken).toBe('t-alice');
    expect(cache.warmToken('api', p)).toBe('t-alice');
    expect(await cache.refresh('api', p)).toBe('t-alice');
    expect(await cache.invalidate('api', p, 't-alice')).toBe(true);
    await cache.close();
  });
});
