import { describe, expect, it } from 'vitest';
import { resolveDPoPOption } from './dpop/dpop-key.js';
import { staticToken } from './sources/static-token.source.js';
import { SourceRegistry } from './source-registry.js';
import { TokenCacheConfigError, UnknownTokenSourceError } from './token-cache.errors.js';

describe('SourceRegistry', () => {
  const registry = () => new SourceRegistry({ api: staticToken('a'), 'we|ird': staticToken('b') }, 100);

  it('finds a source by name (and remembers the last one); an unknown name is undefined, or an error listing the names', () => {
    const r = registry();
    expect(r.find('api')?.name).toBe('api');
    expect(r.find('api')).toBe(r.find('api'));
    expect(r.find('nope')).toBeUndefined();
    expect(r.find('api')?.name).toBe('api');
    expect(() => r.get('nope')).toThrow(UnknownTokenSourceError);
    expect(() => r.get('nope')).toThrow(/api/);
    expect(r.names()).toEqual(['api', 'we|ird']);
  });

  it('keys: the parameterless key; parameter keys start with it and a "|"; a name with "|" is escaped so it owns no other key', () => {
    const r = registry();
    const api = r.keyOf('api', undefined);
    const weird = r.keyOf('we|ird', undefined);
    expect(SourceRegistry.owns(api, r.keyOf('api', { subject: 'u' }))).toBe(true);
    expect(SourceRegistry.owns(api, weird)).toBe(false);
    expect(SourceRegistry.owns(weird, r.keyOf('api', { subject: 'u' }))).toBe(false);
    expect(r.keyOf('api', { subject: 'u' })).not.toBe(r.keyOf('api', { audience: 'u' }));
    expect(() => r.keyOf('api', { subject: 1 } as never)).toThrow(TokenCacheConfigError);
  });

  it('a DPoP source\'s key holds its key\'s thumbprint', () => {
    const key = resolveDPoPOption('test.dpop', true)!.key;
    const r = new SourceRegistry({ api: Object.assign(staticToken('a'), { dpopKey: key }) }, 10);
    expect(r.keyOf('api', undefined)).toContain(key.thumbprint);
  });

  it('counts per source; totals add them up; an unknown name counts nowhere', () => {
    const r = registry();
    r.count('api', 'hits');
    r.count('we|ird', 'hits');
    r.count('we|ird', 'misses');
    r.count('nope', 'hits');
    expect(r.get('api').counters.hits).toBe(1);
    expect(r.totals()).toMatchObject({ hits: 2, misses: 1, fetches: 0 });
  });
});
