import { describe, expect, it } from 'vitest';
import { MemoryTokenStore } from './memory-token-store.js';
import { tokenFunction } from './sources/token-function.source.js';
import { TokenCache } from './token-cache.js';
import { TokenCacheConfigError } from './token-cache.errors.js';

const sources = { api: tokenFunction(() => 't') };

function configError(fn: () => unknown): TokenCacheConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TokenCacheConfigError);
    return e as TokenCacheConfigError;
  }
  throw new Error('expected a TokenCacheConfigError');
}

describe('option validation', () => {
  it.each([
    ['maxEntries', 0],
    ['maxEntries', -1],
    ['maxEntries', 1.5],
    ['maxEntries', '100'],
    ['fetchTimeoutMs', 0],
    ['fetchTimeoutMs', Number.NaN],
    ['cleanupIntervalMs', -5],
    ['cleanupIntervalMs', Infinity],
    ['defaultTtlMs', 0],
    ['defaultTtlMs', null],
    ['expirySkewMs', -1],
    ['expirySkewMs', 0.5],
    ['refreshBeforeExpiryMs', -1],
    ['refreshBeforeExpiryMs', '0'],
  ])('rejects %s = %s with an error naming the option', (option, value) => {
    const error = configError(() => new TokenCache({ sources, [option]: value }));
    expect(error.option).toBe(option);
    expect(error.name).toBe('TokenCacheConfigError');
    expect(error.message).toContain(`"${option}"`);
  });

  it('accepts 0 for expirySkewMs and refreshBeforeExpiryMs', () => {
    expect(() => new TokenCache({ sources, expirySkewMs: 0, refreshBeforeExpiryMs: 0 })).not.toThrow();
  });

  it('rejects missing or malformed sources', () => {
    expect(configError(() => new TokenCache({} as never)).option).toBe('sources');
    expect(configError(() => new TokenCache({ sources: [] as never })).option).toBe('sources');
    expect(configError(() => new TokenCache({ sources: { x: {} as never } })).option).toBe('sources.x');
    expect(configError(() => new TokenCache(undefined as never)).option).toBe('options');
  });

  it('rejects preload names that are not sources', () => {
    const error = configError(() => new TokenCache({ sources, preload: ['nope'] }));
    expect(error.option).toBe('preload');
    expect(error.message).toContain('"nope"');
  });

  it('rejects a store that is not a TokenStore', () => {
    expect(configError(() => new TokenCache({ sources, store: { get() {} } as never })).option).toBe('store');
    expect(() => new TokenCache({ sources, store: new MemoryTokenStore() })).not.toThrow();
    expect(configError(() => new MemoryTokenStore({ maxEntries: 0 })).option).toBe('maxEntries');
  });

  it('tokenFunction validates its options at once', () => {
    expect(configError(() => tokenFunction('nope' as never)).option).toBe('tokenFunction');
    expect(configError(() => tokenFunction(() => 't', { defaultTtlMs: -1 })).option).toBe('tokenFunction.defaultTtlMs');
  });

  it('fetches nothing at construction', () => {
    let calls = 0;
    new TokenCache({ sources: { api: tokenFunction(() => (calls++, 't')) }, preload: ['api'] });
    expect(calls).toBe(0);
  });
});

describe('timer-valued options', () => {
  it.each(['fetchTimeoutMs', 'cleanupIntervalMs'])('rejects %s above the longest timer delay (2^31 - 1 ms), which Node would fire at once', (option) => {
    expect(() => new TokenCache({ sources, [option]: 2 ** 31 })).toThrow(expect.objectContaining({ name: 'TokenCacheConfigError', option }));
    expect(() => new TokenCache({ sources, [option]: 2 ** 31 - 1 })).not.toThrow();
  });

  it('rejects a source timeoutMs above it too', () => {
    expect(() => tokenFunction(() => 't', { timeoutMs: 2 ** 31 })).toThrow(expect.objectContaining({ option: 'tokenFunction.timeoutMs' }));
  });
});

describe('every option fuzzed with wrong types', () => {
  const WRONG: [string, unknown][] = [
    ['null', null],
    ['NaN', Number.NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['an array', [1]],
    ['an object', { value: 1 }],
    ['a function', () => 1],
    ['a symbol', Symbol('x')],
    ['a bigint', 1000n],
    ['a numeric string', '1000'],
    ['a boolean', true],
    ['a negative number', -1],
    ['a fraction', 0.5],
  ];
  const numeric = ['maxEntries', 'expirySkewMs', 'refreshBeforeExpiryMs', 'defaultTtlMs', 'fetchTimeoutMs', 'cleanupIntervalMs', 'maxTtlMs', 'maxTokenBytes'];
  for (const option of numeric) {
    it.each(WRONG)(`${option} = %s is a TokenCacheConfigError naming it`, (_what, value) => {
      const error = configError(() => new TokenCache({ sources, [option]: value }));
      expect(error.option).toBe(option);
    });
  }
  for (const [option, values] of [
    ['random', [null, 0.5, 'Math.random', {}, [], Symbol('r'), 1n, true]],
    ['clock', [null, 5, 'now', {}, [], () => 1, { now: 5 }]],
    ['store', [null, 5, 'memory', {}, [], () => 1]],
    ['meterProvider', [null, 5, 'otel', {}, []]],
    ['preload', [null, 'api', [5], ['missing'], {}, () => ['api']]],
    ['sources', [null, 5, 'api', [], () => ({})]],
  ] as [string, unknown[]][]) {
    it.each(values.map((v) => [typeof v === 'symbol' ? 'symbol' : typeof v === 'bigint' ? 'bigint' : JSON.stringify(v) ?? typeof v, v]))(
      `${option} = %s is a TokenCacheConfigError naming it`,
      (_what, value) => {
        const error = configError(() => new TokenCache({ sources, [option]: value } as never));
        expect(error.option.startsWith(option)).toBe(true);
      },
    );
  }
});

describe('0.2 option rules', () => {
  it('maxEntries is at most 10_000_000 (2**31 would abort the process allocating)', () => {
    expect(configError(() => new TokenCache({ sources, maxEntries: 2 ** 31 })).message).toContain('at most 10000000');
    expect(() => new TokenCache({ sources, maxEntries: 10_000_000 })).not.toThrow();
    configError(() => new TokenCache({ sources, maxEntries: 10_000_001 }));
  });

  it('maxTtlMs and maxTokenBytes are positive integers (maxTtlMs at most ten years)', () => {
    expect(() => new TokenCache({ sources, maxTtlMs: 60_000, maxTokenBytes: 4096 })).not.toThrow();
    expect(configError(() => new TokenCache({ sources, maxTtlMs: Number.MAX_SAFE_INTEGER })).option).toBe('maxTtlMs');
    expect(configError(() => new TokenCache({ sources, maxTokenBytes: 0 })).option).toBe('maxTokenBytes');
  });

  it.each([
    [{}, 'logger.warn'],
    [{ warn: (): void => undefined }, 'logger.error'],
    [{ warn: 'x', error: () => undefined }, 'logger.warn'],
    [{ warn: () => undefined, error: () => undefined, log: 5 }, 'logger.log'],
    [{ warn: () => undefined, error: () => undefined, debug: {} }, 'logger.debug'],
    [null, 'logger'],
    ['console', 'logger'],
    [5, 'logger'],
  ] as [unknown, string][])('logger %j is a TokenCacheConfigError naming %s', (logger, option) => {
    expect(configError(() => new TokenCache({ sources, logger: logger as never })).option).toBe(option);
  });

  it('accepts console, an object with warn/error only, and a class instance logger', () => {
    class L {
      warn(): void {}
      error(): void {}
    }
    const plain = { warn(): void {}, error(): void {} };
    for (const logger of [console, plain, new L()]) expect(() => new TokenCache({ sources, logger })).not.toThrow();
  });

  it('a logger: {} no longer makes a failed fetch throw a TypeError: it fails at start', () => {
    configError(() => new TokenCache({ sources, logger: {} as never }));
  });

  it.each([
    ['fetchTimeoutMS', 'fetchTimeoutMs'],
    ['maxentries', 'maxEntries'],
    ['expirySkew', 'expirySkewMs'],
    ['defaultTTLMs', 'defaultTtlMs'],
    ['sorces', 'sources'],
    ['refreshBeforeExpiry', 'refreshBeforeExpiryMs'],
    ['totallyUnrelated', undefined],
  ])('an unknown option %s is a TokenCacheConfigError naming it (did you mean %s?)', (option, suggestion) => {
    const error = configError(() => new TokenCache({ sources, [option]: 1 } as never));
    expect(error.option).toBe(option);
    expect(error.message).toContain(`"${option}"`);
    if (suggestion) expect(error.message).toContain(`did you mean "${suggestion}"`);
    else expect(error.message).not.toContain('did you mean');
  });

  it('forRoot fields returned by a forRootAsync factory are named as such', () => {
    expect(configError(() => new TokenCache({ sources, admin: { enabled: true } } as never)).message).toContain('forRootAsync');
  });

  it('the list of known names matches every option the cache reads', async () => {
    const { TOKEN_CACHE_OPTION_NAMES } = await import('./token-cache.options.js');
    const all = Object.fromEntries(TOKEN_CACHE_OPTION_NAMES.map((n) => [n, undefined]));
    expect(() => new TokenCache({ ...all, sources } as never)).not.toThrow();
  });
});
