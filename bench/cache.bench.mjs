// Warm getToken and peek throughput against a raw lru-cache get (async wrapper for getToken, sync for peek).
import { LRUCache } from 'lru-cache';
import { TokenCache, tokenFunction } from 'nestjs-token-cache/core';
import { compare, info, report } from './harness.mjs';

const cache = new TokenCache({ sources: { api: tokenFunction(() => ({ accessToken: 'bench-token', expiresIn: 86_400 })) } });
const params = { subject: 'user-42', scopes: ['read', 'write'] };
await cache.getToken('api');
await cache.getToken('api', params);
await cache.getToken('api', { subject: 'user-42' });

const lru = new LRUCache({ max: 10_000 });
lru.set('api', { accessToken: 'bench-token', expiresAt: Date.now() + 86_400_000 });
const rawAsync = async () => lru.get('api');
const rawSync = () => lru.get('api');

let ok = true;
console.log('Warm cache reads, medians of interleaved rounds (higher ratio is better):');
ok = report('getToken(source) vs async lru.get', await compare({ subject: () => cache.getToken('api'), baseline: rawAsync, isAsync: true }), 0.5) && ok;
// Per-user lookups: a `{ subject }` object made afresh per call (as a request handler does), and one params
// object reused (as an HTTP client's options are); both must stay near the parameterless path.
ok = report('getToken(source, { subject }) vs async lru.get', await compare({ subject: () => cache.getToken('api', { subject: 'user-42' }), baseline: rawAsync, isAsync: true }), 0.5) && ok;
info('getToken(source, params) vs async lru.get', await compare({ subject: () => cache.getToken('api', params), baseline: rawAsync, isAsync: true }));
ok = report('peek(source) vs lru.get', await compare({ subject: () => cache.peek('api'), baseline: rawSync, ops: 1_000_000 }), 0.5) && ok;
ok = report('peek(source, params) vs lru.get', await compare({ subject: () => cache.peek('api', params), baseline: rawSync, ops: 1_000_000 }), 0.3) && ok;
info('peek(source, { subject }) vs lru.get', await compare({ subject: () => cache.peek('api', { subject: 'user-42' }), baseline: rawSync, ops: 1_000_000 }));
console.log('  (params = { subject, scopes: [2] }; keys with parameters are remembered per source (KeyMemo), not rebuilt per call)');

// Memory: bytes per cached entry with 10,000 distinct keys.
global.gc?.();
const before = process.memoryUsage().heapUsed;
const big = new TokenCache({ sources: { api: tokenFunction((r) => ({ accessToken: `token-for-${r.subject}-${'x'.repeat(800)}`, expiresIn: 3600 })) } });
for (let i = 0; i < 10_000; i++) await big.getToken('api', { subject: `user-${i}` });
global.gc?.();
const perEntry = (process.memoryUsage().heapUsed - before) / 10_000;
console.log(`memory: ~${Math.round(perEntry)} bytes per entry with 10,000 entries of ~850-byte tokens (size ${big.stats().size})`);

await cache.close();
await big.close();
process.exitCode = ok ? 0 : 1;
