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
