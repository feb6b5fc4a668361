// Every kind of bad token reply, through the cache against a real loopback token endpoint: a typed error
// that says what was wrong, nothing cached, and the still-valid token keeps being served.
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCredentials, TokenCache, TokenFetchError, TokenResponseError, type TokenCacheEvent } from 'nestjs-token-cache/core';
import { json, startRawServer, type RawServer } from '../../../../test/support/raw-http-server.js';
import { FakeClock } from './testing/fake-clock.js';

type Reply = (res: ServerResponse) => void;
let reply: Reply;
let server: RawServer;
beforeAll(async () => (server = await startRawServer((res) => reply(res))));
afterAll(() => server.close());

const form = (body: string): Reply => (res) => (res.writeHead(200, { 'content-type': 'application/x-www-form-urlencoded' }), res.end(body));
const good: Reply = (res) => json(res, 200, { access_token: 'good-token', token_type: 'Bearer', expires_in: 600 });

const BAD: [string, Reply, typeof TokenResponseError | typeof TokenFetchError, RegExp][] = [
  ['200 {"error":"invalid_grant"}', (res) => json(res, 200, { error: 'invalid_grant' }), TokenFetchError, /HTTP 200 with error "invalid_grant"/],
  ['200 form error=invalid_client', form('error=invalid_client'), TokenFetchError, /error "invalid_client"/],
  ['an access_token with CR/LF', (res) => json(res, 200, { access_token: 'abc\r\nX-Injected: 1', expires_in: 600 }), TokenResponseError, /CR\/LF/],
  ['an access_token with a space', (res) => json(res, 200, { access_token: 'abc def', expires_in: 600 }), TokenResponseError, /whitespace/],
  ['a non-ASCII access_token', (res) => json(res, 200, { access_token: 'tökén', expires_in: 600 }), TokenResponseError, /non-ASCII/],
  ['a 20 KB access_token', (res) => json(res, 200, { access_token: 'x'.repeat(20_000), expires_in: 600 }), TokenResponseError, /maxTokenBytes \(16384\)/],
  ['token_type mac', (res) => json(res, 200, { access_token: 'mac-token', token_type: 'mac', expires_in: 600 }), TokenResponseError, /"token_type" is "mac"/],
  ['token_type DPoP without the dpop option', (res) => json(res, 200, { access_token: 'dpop-token', token_type: 'DPoP', expires_in: 600 }), TokenResponseError, /"dpop" option/],
  ['expires_in "0x10"', (res) => json(res, 200, { access_token: 'hex', expires_in: '0x10' }), TokenResponseError, /"expires_in" must be/],
  ['expires_in "1e3"', (res) => json(res, 200, { access_token: 'exp', expires_in: '1e3' }), TokenResponseError, /"expires_in" must be/],
  ['expires_in true', (res) => json(res, 200, { access_token: 'bool', expires_in: true }), TokenResponseError, /"expires_in" must be/],
  ['form expires_in=-5', form('access_token=neg&expires_in=-5'), TokenResponseError, /"expires_in" must be/],
  ['an HTML login page', (res) => (res.writeHead(200, { 'content-type': 'text/html' }), res.end('<html>Sign in</html>')), TokenResponseError, /HTML or XML.*tokenUrl/],
  ['a 2 MB body', (res) => json(res, 200, { access_token: 'big', pad: 'x'.repeat(2_000_000) }), TokenResponseError, /maxResponseBytes/],
];

describe('a bad reply through the cache', () => {
  it.each(BAD)('%s: typed error saying what was wrong, nothing cached, the still-valid token served', async (_what, bad, type, message) => {
    const clock = new FakeClock();
    const cache = new TokenCache({ sources: { api: clientCredentials({ tokenUrl: server.url, clientId: 'c', clientSecret: 'sec-ret-value' }) }, clock });
    const events: TokenCacheEvent[] = [];
    cache.events$.subscribe((e) => events.push(e));
    reply = good;
    expect(await cache.getToken('api')).toBe('good-token');
    const expiresAt = cache.entries()[0]!.expiresAt.getTime();
    reply = bad;
    const error = (await cache.refresh("api").catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(type);
    expect(error!.message).toMatch(message);
    expect(error!.message).toContain('"api"');
    expect(error!.message).not.toContain('sec-ret-value');
    // Nothing of the bad reply was cached: the good token, with its expiry, is what every reader sees.
    expect(cache.entries()).toHaveLength(1);
    expect(cache.entries()[0]!.expiresAt.getTime()).toBe(expiresAt);
    expect(cache.peek('api')?.accessToken).toBe('good-token');
    expect(await cache.getToken('api')).toBe('good-token');
    // Also when the bad reply comes to a background refresh.
    clock.advance(400_000);
    expect(await cache.getToken('api')).toBe('good-token');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await cache.getToken('api')).toBe('good-token');
    const failed = events.filter((e) => e.type === 'fetch_failed');
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(failed[0]!.error!.name).toBe(type.name);
    await cache.close();
  });

  it('with no token held, a bad reply is the caller\'s error and nothing is cached', async () => {
    const cache = new TokenCache({ sources: { api: clientCredentials({ tokenUrl: server.url, clientId: 'c', clientSecret: 'sec-ret-value' }) }, clock: new FakeClock() });
    reply = (res) => json(res, 200, { access_token: 'a b' });
    await expect(cache.getToken('api')).rejects.toBeInstanceOf(TokenResponseError);
    expect(cache.entries()).toEqual([]);
    expect(cache.peek('api')).toBeUndefined();
    await cache.close();
  });
});

describe('good replies in the real world\'s dialects, through the cache', () => {
  const cacheWith = (clock = new FakeClock(), options = {}) =>
    new TokenCache({ sources: { api: clientCredentials({ tokenUrl: server.url, clientId: 'c', clientSecret: 'sec-ret-value' }) }, clock, ...options });

  it('a form-encoded reply is cached with its expires_in', async () => {
    const clock = new FakeClock();
    const cache = cacheWith(clock);
    reply = form('access_token=form%2Btoken%2F%3D&token_type=bearer&expires_in=3600');
    expect(await cache.getToken('api')).toBe('form+token/=');
    expect(cache.entries()[0]!.expiresAt.getTime()).toBe(clock.now() + 3_600_000);
    expect((await cache.getCachedToken('api')).tokenType).toBe('Bearer');
    await cache.close();
  });

  it('expires_in 1e20 is capped at maxTtlMs: a valid expiresAt', async () => {
    const clock = new FakeClock();
    const cache = cacheWith(clock);
    reply = (res) => json(res, 200, { access_token: 'long', expires_in: 1e20 });
    await cache.getToken('api');
    const { expiresAt } = await cache.getCachedToken('api');
    expect(Number.isNaN(expiresAt.getTime())).toBe(false);
    expect(expiresAt.getTime()).toBe(clock.now() + 86_400_000);
    await cache.close();
    const short = cacheWith(clock, { maxTtlMs: 60_000 });
    await short.getToken('api');
    expect((await short.getCachedToken('api')).expiresAt.getTime()).toBe(clock.now() + 60_000);
    await short.close();
  });

  it('expires_in 0 counts as absent: the default TTL applies, and the next call is a hit', async () => {
    const clock = new FakeClock();
    const cache = cacheWith(clock, { defaultTtlMs: 120_000 });
    reply = (res) => json(res, 200, { access_token: 'zero', expires_in: 0 });
    await cache.getToken('api');
    const before = server.requests.length;
    expect(await cache.getToken('api')).toBe('zero');
    expect(server.requests.length).toBe(before);
    expect(cache.entries()[0]!.expiresAt.getTime()).toBe(clock.now() + 120_000);
    await cache.close();
  });

  it('maxTokenBytes raised lets a large token through', async () => {
    const cache = cacheWith(new FakeClock(), { maxTokenBytes: 65_536 });
    reply = (res) => json(res, 200, { access_token: 'y'.repeat(20_000), expires_in: 600 });
    expect((await cache.getToken('api')).length).toBe(20_000);
    await cache.close();
  });
});
