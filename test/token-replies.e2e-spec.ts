/**
 * Token replies as real IdPs send them, over the wire (a loopback token endpoint that sends each reply): every
 * dialect and relative of the issue-10 cases. A good one is cached with the right lifetime and type; a bad one
 * is a typed error whose message says what was wrong, nothing is cached, and the still-valid token held before
 * keeps being served.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { clientCredentials, TokenCache, TokenFetchError, TokenResponseError } from 'nestjs-token-cache/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

type Reply = (res: ServerResponse) => void;
const send = (status: number, body: unknown, type: string | undefined = 'application/json', extra: Record<string, string> = {}): Reply => (res) => {
  res.writeHead(status, { ...(type !== undefined && { 'content-type': type }), ...extra });
  res.end(typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
};
const TOKEN = 'good.TOKEN-value_1';
const HELD = 'held.TOKEN-value_0';
const ok = { access_token: TOKEN, expires_in: 3600 };
const okJson = JSON.stringify(ok);

/** [name, reply, expected lifetime in s (undefined: the 300 s default), expected token type] */
const GOOD: [string, Reply, number | undefined, string][] = [
  ['expires_in as a decimal string "3600"', send(200, { access_token: TOKEN, expires_in: '3600' }), 3600, 'Bearer'],
  ['expires_in 3600.5', send(200, { access_token: TOKEN, expires_in: 3600.5 }), 3600.5, 'Bearer'],
  ['expires_in 0 (absent: the default)', send(200, { access_token: TOKEN, expires_in: 0 }), undefined, 'Bearer'],
  ['expires_in 1e20 (capped at maxTtlMs, 24 h)', send(200, { access_token: TOKEN, expires_in: 1e20 }), 86_400, 'Bearer'],
  ['expires_in of 400 digits (capped)', send(200, `{"access_token":"${TOKEN}","expires_in":"${'9'.repeat(400)}"}`), 86_400, 'Bearer'],
  ['token_type absent', send(200, { access_token: TOKEN, expires_in: 60 }), 60, 'Bearer'],
  ['token_type "bearer"', send(200, { access_token: TOKEN, token_type: 'bearer', expires_in: 60 }), 60, 'Bearer'],
  ['token_type "BEARER"', send(200, { access_token: TOKEN, token_type: 'BEARER', expires_in: 60 }), 60, 'Bearer'],
  ['a form reply', send(200, `access_token=${TOKEN}&token_type=bearer&expires_in=3600`, 'application/x-www-form-urlencoded'), 3600, 'Bearer'],
  ['a form reply with a charset', send(200, `access_token=${TOKEN}&expires_in=3600`, 'application/x-www-form-urlencoded; charset=utf-8'), 3600, 'Bearer'],
  ['a form reply in odd case', send(200, `access_token=${TOKEN}&expires_in=3600`, 'Application/X-WWW-Form-URLEncoded;Charset=UTF-8'), 3600, 'Bearer'],
  ['a form reply as text/plain (GitHub)', send(200, `access_token=${TOKEN}&expires_in=3600&scope=repo`, 'text/plain; charset=utf-8'), 3600, 'Bearer'],
  ['JSON with a charset', send(200, ok, 'application/json; charset=utf-8'), 3600, 'Bearer'],
  ['JSON with a charset in odd case', send(200, ok, 'Application/JSON; Charset=UTF-8'), 3600, 'Bearer'],
  ['JSON without a Content-Type', send(200, okJson, undefined), 3600, 'Bearer'],
  ['JSON as application/vnd.api+json', send(200, ok, 'application/vnd.api+json'), 3600, 'Bearer'],
  ['JSON with a byte order mark', send(200, `\uFEFF${okJson}`), 3600, 'Bearer'],
  ['a 201', send(201, ok), 3600, 'Bearer'],
  ['a gzip reply', send(200, gzipSync(okJson), 'application/json', { 'content-encoding': 'gzip' }), 3600, 'Bearer'],
  ['a deflate reply', send(200, deflateSync(okJson), 'application/json', { 'content-encoding': 'deflate' }), 3600, 'Bearer'],
  ['a brotli reply', send(200, brotliCompressSync(okJson), 'application/json', { 'content-encoding': 'br' }), 3600, 'Bearer'],
  // Not RFC 6749, sent by some token services: read when expires_in is absent; expires_in wins when both come.
  ['expires_at in epoch seconds, no expires_in', (res) => send(200, { access_token: TOKEN, expires_at: Math.floor(Date.now() / 1000) + 120 })(res), 120, 'Bearer'],
  ['expires_at in epoch ms, no expires_in', (res) => send(200, { access_token: TOKEN, expires_at: Date.now() + 120_000 })(res), 120, 'Bearer'],
  ['expiresAt as an RFC 3339 date, no expires_in', (res) => send(200, { access_token: TOKEN, expiresAt: new Date(Date.now() + 120_000).toISOString() })(res), 120, 'Bearer'],
  ['expires_at in a form reply', (res) => send(200, `access_token=${TOKEN}&expires_at=${Math.floor(Date.now() / 1000) + 120}`, 'application/x-www-form-urlencoded')(res), 120, 'Bearer'],
  ['expires_in 7200 and expires_at in 120 s (expires_in wins)', (res) => send(200, { access_token: TOKEN, expires_in: 7200, expires_at: Math.floor(Date.now() / 1000) + 120 })(res), 7200, 'Bearer'],
];

/** [name, reply, error class name, oauthError, what the message must say] */
const BAD: [string, Reply, 'TokenResponseError' | 'TokenFetchError', string | undefined, RegExp][] = [
  ['expires_in " 3600"', send(200, { access_token: TOKEN, expires_in: ' 3600' }), 'TokenResponseError', undefined, /"expires_in" must be a number of seconds/],
  ['expires_in -1', send(200, { access_token: TOKEN, expires_in: -1 }), 'TokenResponseError', undefined, /"expires_in".*negative/],
  ['expires_in null', send(200, { access_token: TOKEN, expires_in: null }), 'TokenResponseError', undefined, /"expires_in".*null/],
  ['expires_in true', send(200, { access_token: TOKEN, expires_in: true }), 'TokenResponseError', undefined, /"expires_in".*boolean/],
  ['expires_in "0x10"', send(200, { access_token: TOKEN, expires_in: '0x10' }), 'TokenResponseError', undefined, /"expires_in"/],
  ['expires_in "1e3"', send(200, { access_token: TOKEN, expires_in: '1e3' }), 'TokenResponseError', undefined, /"expires_in"/],
  ['expires_in ""', send(200, { access_token: TOKEN, expires_in: '' }), 'TokenResponseError', undefined, /"expires_in".*empty/],
  ['expires_at "soon" without expires_in', send(200, { access_token: TOKEN, expires_at: 'soon' }), 'TokenResponseError', undefined, /"expires_at" must be epoch seconds or milliseconds \(after 1970\), or an RFC 3339 date-time/],
  ['token_type mac', send(200, { access_token: TOKEN, token_type: 'mac' }), 'TokenResponseError', undefined, /"token_type" is "mac"/],
  ['token_type DPoP without dpop', send(200, { access_token: TOKEN, token_type: 'DPoP' }), 'TokenResponseError', undefined, /"dpop" option/],
  ['token_type N_A', send(200, { access_token: TOKEN, token_type: 'N_A' }), 'TokenResponseError', undefined, /"token_type" is "N_A"/],
  ['a 200 with only an error', send(200, { error: 'invalid_grant', error_description: 'expired' }), 'TokenFetchError', 'invalid_grant', /HTTP 200 with error "invalid_grant"/],
  ['a 200 with a token and an error', send(200, { access_token: TOKEN, error: 'invalid_grant' }), 'TokenFetchError', 'invalid_grant', /error "invalid_grant"/],
  ['a 200 form reply with an error', send(200, 'error=invalid_client', 'application/x-www-form-urlencoded'), 'TokenFetchError', 'invalid_client', /error "invalid_client"/],
  ['a 400 form error', send(400, 'error=invalid_client&error_description=nope', 'application/x-www-form-urlencoded'), 'TokenFetchError', 'invalid_client', /HTTP 400/],
  ['a 204', send(204, '', undefined), 'TokenResponseError', undefined, /empty/],
  ['an empty 200', send(200, ''), 'TokenResponseError', undefined, /empty/],
  ['an HTML 200 login page', send(200, '<html><body>Sign in</body></html>', 'text/html'), 'TokenResponseError', undefined, /HTML/],
  ['HTML sent as JSON', send(200, '<!DOCTYPE html><html></html>'), 'TokenResponseError', undefined, /HTML/],
  ['an HTML 502 from a proxy', send(502, '<html><body>Bad gateway</body></html>', 'text/html'), 'TokenFetchError', undefined, /HTTP 502/],
  ['truncated JSON', send(200, '{"access_token":"abc'), 'TokenResponseError', undefined, /truncated/],
  ['a JSON array', send(200, [1]), 'TokenResponseError', undefined, /not an object/],
  ['access_token a number', send(200, { access_token: 12345 }), 'TokenResponseError', undefined, /"access_token" is a number/],
  ['no access_token', send(200, { token: TOKEN }), 'TokenResponseError', undefined, /no "access_token"/],
  ['a token with CR/LF', send(200, { access_token: 'abc\r\ndef' }), 'TokenResponseError', undefined, /CR\/LF/],
  ['a token with non-ASCII', send(200, { access_token: 'abcé' }), 'TokenResponseError', undefined, /non-ASCII/],
  ['a token with a space', send(200, { access_token: 'abc def' }), 'TokenResponseError', undefined, /whitespace/],
  ['a 1 MB token', send(200, { access_token: 'a'.repeat(1_000_000) }), 'TokenResponseError', undefined, /maxResponseBytes|maxTokenBytes/],
  ['a 100 KB token', send(200, { access_token: 'a'.repeat(100_000) }), 'TokenResponseError', undefined, /maxTokenBytes/],
  ['a gzip bomb', send(200, gzipSync(`{"access_token":"${'a'.repeat(5_000_000)}"}`), 'application/json', { 'content-encoding': 'gzip' }), 'TokenResponseError', undefined, /maxResponseBytes/],
  ['a 302 to a login page', send(302, '', undefined, { location: '/login' }), 'TokenFetchError', undefined, /HTTP 302/],
];

describe('token replies over the wire', () => {
  let server: Server;
  let url: string;
  let reply: Reply = send(200, ok);
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => reply(res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const make = () => new TokenCache({ sources: { idp: clientCredentials({ tokenUrl: url, clientId: 'c', clientSecret: 's' }) } });

  it.each(GOOD)('%s is cached with its lifetime and type', async (_name, r, lifetimeS, type) => {
    reply = r;
    const cache = make();
    const before = Date.now();
    const token = await cache.getCachedToken('idp');
    expect(token.accessToken).toBe(TOKEN);
    expect(token.tokenType).toBe(type);
    const lifetime = (token.expiresAt.getTime() - before) / 1000;
    expect(lifetime).toBeGreaterThan((lifetimeS ?? 300) - 5);
    expect(lifetime).toBeLessThanOrEqual((lifetimeS ?? 300) + 5);
    await cache.close();
  });

  it.each(BAD)('%s: a typed error that says what was wrong, nothing cached, the held token still served', async (_name, r, errorName, oauthError, says) => {
    reply = send(200, { access_token: HELD, expires_in: 3600 });
    const cache = make();
    expect(await cache.getToken('idp')).toBe(HELD);
    reply = r;
    const error = await cache.refresh('idp').then(
      () => undefined,
      (e: unknown) => e as Error & { oauthError?: string },
    );
    expect(error, 'rejected').toBeDefined();
    expect(error!.name).toBe(errorName);
    expect(error).toBeInstanceOf(errorName === 'TokenResponseError' ? TokenResponseError : TokenFetchError);
    expect(error!.oauthError).toBe(oauthError);
    expect(error!.message).toMatch(says);
    // Nothing was cached: the token held before is still the one served, and the only entry.
    expect(await cache.getToken('idp')).toBe(HELD);
    expect(cache.peek('idp')?.accessToken).toBe(HELD);
    expect(cache.entries()).toHaveLength(1);
    // Without a held token, a caller gets the same kind of error and nothing is cached.
    const cold = make();
    await expect(cold.getToken('idp')).rejects.toMatchObject({ name: errorName });
    expect(cold.entries()).toEqual([]);
    await cold.close();
    await cache.close();
  });
});
