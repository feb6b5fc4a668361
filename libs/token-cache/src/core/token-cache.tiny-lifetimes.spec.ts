// "No configuration makes every call fetch" (F7), for every option and reply that could: lifetime options have a
// floor (TokenCacheConfigError at start), and every token received is used for at least a second (a warning
// says what the IdP sent). One sequential caller for 10 s on the fake clock; fetches per second stay bounded.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCredentials } from './sources/client-credentials.source.js';
import { fileToken } from './sources/file-token.source.js';
import { staticToken } from './sources/static-token.source.js';
import { tokenFunction } from './sources/token-function.source.js';
import type { TokenSource } from './sources/token-source.interface.js';
import { FakeClock, flush } from './testing/fake-clock.js';
import { TokenCacheConfigError } from './token-cache.errors.js';
import { TokenCache } from './token-cache.js';
import type { TokenCacheOptions } from './token-cache.options.js';
import type { TokenResponse } from './token-cache.types.js';

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = (claims: object) => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.c2ln`;

/** One sequential caller every `stepMs` for `seconds` of fake time; the source's fetches per second. */
async function fetchesPerSecond(clock: FakeClock, cache: TokenCache, count: () => number, seconds = 10, stepMs = 1): Promise<number> {
  await cache.getToken('api'); // the first fetch
  const before = count();
  const end = clock.now() + seconds * 1_000;
  while (clock.now() < end) {
    await cache.getToken('api');
    clock.advance(stepMs);
    await flush(2);
  }
  await flush();
  return (count() - before) / seconds;
}

function functionCache(reply: (clock: FakeClock, n: number) => TokenResponse | string, options: Partial<TokenCacheOptions> = {}) {
  const clock = new FakeClock();
  const warnings: string[] = [];
  let n = 0;
  const logger = { warn: (m: string) => warnings.push(m), error: (m: string) => warnings.push(m) };
  const cache = new TokenCache({ clock, logger, sources: { api: tokenFunction(() => reply(clock, ++n)) }, ...options });
  return { clock, cache, warnings, count: () => n };
}

describe('no reply makes every call fetch: a token is used for at least 1 s', () => {
  const now = (clock: FakeClock) => clock.now();
  it.each<[string, (clock: FakeClock, n: number) => TokenResponse | string]>([
    ['expiresIn 0.001', (_, n) => ({ accessToken: `t${n}`, expiresIn: 0.001 })],
    ['expiresIn 1', (_, n) => ({ accessToken: `t${n}`, expiresIn: 1 })],
    ['expiresAt = now (new Date())', (c, n) => ({ accessToken: `t${n}`, expiresAt: new Date(now(c)) })],
    ['expiresAt in the past (a remote clock behind ours)', (c, n) => ({ accessToken: `t${n}`, expiresAt: now(c) - 60_000 })],
    ['the same token, expiresAt in the past (an SDK handing back its cached token)', (c) => ({ accessToken: 'same', expiresAt: now(c) - 1_000 })],
    ['the same token, expiresIn 0.5 every time', () => ({ accessToken: 'same', expiresIn: 0.5 })],
    ['a JWT whose exp is past (no iat)', (c, n) => jwt({ sub: `s${n}`, exp: Math.floor(now(c) / 1000) - 60 })],
    ['a JWT whose exp equals its iat', (c, n) => jwt({ sub: `s${n}`, iat: Math.floor(now(c) / 1000), exp: Math.floor(now(c) / 1000) })],
    ['the same JWT, exp past', (c) => jwt({ sub: 'same', exp: Math.floor(now(c) / 1000) - 5 })],
    ['refreshIn 0.001 (expiresIn 3600)', (_, n) => ({ accessToken: `t${n}`, expiresIn: 3600, refreshIn: 0.001 })],
    ['refreshIn 0 (counts as absent)', (_, n) => ({ accessToken: `t${n}`, expiresIn: 3600, refreshIn: 0 })],
    ['expiresIn 0 (counts as absent: the default lifetime)', (_, n) => ({ accessToken: `t${n}`, expiresIn: 0 })],
  ])('%s', async (_label, reply) => {
    const { clock, cache, count } = functionCache(reply);
    const perSecond = await fetchesPerSecond(clock, cache, count);
    expect(perSecond).toBeLessThanOrEqual(4); // one caller every ms: 10_000 calls, at most a few fetches a second
    await cache.close();
  });

  it('warns once, naming the source and what the IdP sent (never the token), until it sends a normal token', async () => {
    const { clock, cache, warnings } = functionCache((c, n) => (n <= 3 ? { accessToken: `secret-${n}`, expiresAt: c.now() - 5_000 } : { accessToken: `secret-${n}`, expiresIn: 0.001 }));
    await fetchesPerSecond(clock, cache, () => 0, 5);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^Token source "api" sent a token with expiresAt \d{4}-.*Z, 5000 ms before it arrived .*used for 1000 ms/);
    expect(warnings[0]).not.toContain('secret');
    await cache.close();

    const again = functionCache((_, n) => (n === 2 ? { accessToken: 'x', expiresIn: 60 } : { accessToken: `y${n}`, expiresIn: 0.001 }));
    await again.cache.getToken('api');
    again.clock.advance(1_000);
    await again.cache.getToken('api'); // a normal token: the next short one is warned about again
    again.clock.advance(60_000);
    await again.cache.getToken('api');
    expect(again.warnings).toHaveLength(2);
    expect(again.warnings[1]).toContain('expires_in 0.001 s');
    await again.cache.close();
  });

  it('a token file whose JWT has expired (not yet rotated) is read again about once a second, not per call', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tiny-'));
    try {
      const clock = new FakeClock();
      const path = join(dir, 'token');
      writeFileSync(path, jwt({ sub: 'file', exp: Math.floor(clock.now() / 1000) - 3600 }));
      let reads = 0;
      const source = fileToken({ path });
      const counted: TokenSource = { ...source, kind: 'file', fetchToken: (r, c) => (reads++, source.fetchToken(r, c)) };
      const cache = new TokenCache({ clock, logger: { warn: () => {}, error: () => {} }, sources: { api: counted } });
      expect(await fetchesPerSecond(clock, cache, () => reads, 5, 5)).toBeLessThanOrEqual(2);
      await cache.close();
      await source.close?.();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a static JWT that has expired is taken again about once a second', async () => {
    const clock = new FakeClock();
    const token = jwt({ sub: 'static', exp: Math.floor(clock.now() / 1000) - 10 });
    const source = staticToken(token);
    let n = 0;
    const counted: TokenSource = { ...source, fetchToken: (r, c) => (n++, source.fetchToken(r, c)) };
    const cache = new TokenCache({ clock, logger: { warn: () => {}, error: () => {} }, sources: { api: counted } });
    expect(await fetchesPerSecond(clock, cache, () => n)).toBeLessThanOrEqual(2);
    await cache.close();
  });
});

describe('no option makes every call fetch', () => {
  it.each<[string, Partial<TokenCacheOptions>]>([
    ['expirySkewMs 0, refreshBeforeExpiryMs 1', { expirySkewMs: 0, refreshBeforeExpiryMs: 1 }],
    ['expirySkewMs huge (capped at a tenth of the lifetime)', { expirySkewMs: 1_000_000_000 }],
    ['refreshBeforeExpiryMs huge (capped at half the lifetime)', { refreshBeforeExpiryMs: 1_000_000_000 }],
    ['expirySkewMs huge, refreshBeforeExpiryMs 1', { expirySkewMs: 1_000_000_000, refreshBeforeExpiryMs: 1 }],
    ['refreshBeforeExpiryMs 0 (off)', { refreshBeforeExpiryMs: 0 }],
    ['defaultTtlMs 1000 (the minimum)', { defaultTtlMs: 1_000 }],
    ['maxTtlMs 1000 (the minimum)', { maxTtlMs: 1_000 }],
  ])('%s, with 1 s, 2 s and 1 h tokens and tokens without expiry', async (_label, options) => {
    for (const reply of [{ expiresIn: 1 }, { expiresIn: 2 }, { expiresIn: 3600 }, {}]) {
      const { clock, cache, count } = functionCache((_, n) => ({ accessToken: `t${n}`, ...reply }), options);
      const perSecond = await fetchesPerSecond(clock, cache, count);
      expect(perSecond, JSON.stringify(reply)).toBeLessThanOrEqual(4);
      await cache.close();
    }
  });

  it.each<[string, () => unknown]>([
    ['defaultTtlMs', () => new TokenCache({ sources: { api: tokenFunction(() => 'x') }, defaultTtlMs: 1 })],
    ['defaultTtlMs', () => new TokenCache({ sources: { api: tokenFunction(() => 'x') }, defaultTtlMs: 999 })],
    ['maxTtlMs', () => new TokenCache({ sources: { api: tokenFunction(() => 'x') }, maxTtlMs: 1 })],
    ['tokenFunction.defaultTtlMs', () => tokenFunction(() => 'x', { defaultTtlMs: 1 })],
    ['fileToken.defaultTtlMs', () => fileToken({ path: '/tmp/x', defaultTtlMs: 500 })],
    ['staticToken.expiresIn', () => staticToken('x', { expiresIn: 0.001 })],
    ['sources.api.defaultTtlMs', () => new TokenCache({ sources: { api: { kind: 'custom', defaultTtlMs: 5, fetchToken: async () => 'x' } as unknown as TokenSource } })],
  ])('%s below 1 s is a TokenCacheConfigError naming it and the minimum, at start', (option, create) => {
    let error: unknown;
    try {
      create();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TokenCacheConfigError);
    expect(error).toMatchObject({ option });
    expect((error as Error).message).toContain(`"${option}"`);
    expect((error as Error).message).toMatch(/at least 1(000 ms| \(second| \(the shortest)/);
  });
});

describe('OAuth replies (a real token endpoint on loopback)', () => {
  let server: Server;
  let body: (n: number) => Record<string, unknown>;
  let requests = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(body(++requests)));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it.each<[string, (n: number, nowS: number) => Record<string, unknown>]>([
    ['expires_in 0 (absent: the default lifetime)', (n) => ({ access_token: `t${n}`, token_type: 'Bearer', expires_in: 0 })],
    ['expires_in "0.001"', (n) => ({ access_token: `t${n}`, token_type: 'Bearer', expires_in: '0.001' })],
    ['expires_in 1', (n) => ({ access_token: `t${n}`, token_type: 'Bearer', expires_in: 1 })],
    ['a JWT access token whose exp equals its iat, no expires_in', (n, s) => ({ access_token: jwt({ n, iat: s, exp: s }), token_type: 'Bearer' })],
    ['a JWT access token whose exp is past, no expires_in', (n, s) => ({ access_token: jwt({ n, exp: s - 600 }), token_type: 'Bearer' })],
    ['refresh_in 0', (n) => ({ access_token: `t${n}`, token_type: 'Bearer', expires_in: 3600, refresh_in: 0 })],
    ['refresh_in 0.001', (n) => ({ access_token: `t${n}`, token_type: 'Bearer', expires_in: 3600, refresh_in: 0.001 })],
  ])('%s', async (_label, reply) => {
    const clock = new FakeClock();
    requests = 0;
    body = (n) => reply(n, Math.floor(clock.now() / 1000));
    const source = clientCredentials({ tokenUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`, clientId: 'c', clientSecret: 's' });
    const cache = new TokenCache({ clock, logger: { warn: () => {}, error: () => {} }, sources: { api: source } });
    expect(await fetchesPerSecond(clock, cache, () => requests, 5, 2)).toBeLessThanOrEqual(4);
    await cache.close();
  });
});
