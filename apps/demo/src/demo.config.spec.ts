import { describe, expect, it } from 'vitest';
import { demoOptionsFromEnv, resolveDemoOptions } from './demo.config.js';

describe('demo options', () => {
  it('defaults: fixed ports, 60 s tokens, rotation at a third of the lifetime (at most 20 s), a random admin key', () => {
    const o = resolveDemoOptions();
    expect(o).toMatchObject({ port: 3000, apiPort: 3001, idpPort: 3002, host: '127.0.0.1', ttlSeconds: 60, fileRotateMs: 20_000, redisKeyPrefix: 'token-cache-demo:' });
    expect(o.adminKey).toMatch(/^[\w-]{16}$/);
    expect(resolveDemoOptions().adminKey).not.toBe(o.adminKey);
    expect(resolveDemoOptions({ ttlSeconds: 6 }).fileRotateMs).toBe(2_000);
  });

  it('reads the environment; 0 is a valid port', () => {
    const o = demoOptionsFromEnv({ PORT: '0', DEMO_API_PORT: '0', DEMO_IDP_PORT: '0', DEMO_TOKEN_TTL_S: '5', REDIS_URL: 'redis://r:1', DEMO_ADMIN_KEY: 'k' });
    expect(o).toMatchObject({ port: 0, apiPort: 0, idpPort: 0, ttlSeconds: 5, redisUrl: 'redis://r:1', adminKey: 'k' });
    expect(demoOptionsFromEnv({})).toEqual(Object.fromEntries(Object.keys(o).map((k) => [k, undefined])) as never);
  });

  it('refuses what would make a broken demo, naming the variable', () => {
    expect(() => demoOptionsFromEnv({ PORT: 'abc' })).toThrow(/PORT must be a non-negative integer, got "abc"/);
    expect(() => resolveDemoOptions({ ttlSeconds: 1 })).toThrow(/DEMO_TOKEN_TTL_S must be an integer of at least 2/);
    expect(() => resolveDemoOptions({ idpUrl: 'http://127.0.0.1:3002' })).toThrow(/Set both DEMO_IDP_URL and DEMO_API_URL/);
    expect(resolveDemoOptions({ idpUrl: 'http://a/', apiUrl: 'http://b//' })).toMatchObject({ idpUrl: 'http://a', apiUrl: 'http://b' });
  });
});
