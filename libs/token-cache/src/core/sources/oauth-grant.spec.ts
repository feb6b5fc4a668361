// How the OAuth sources classify token endpoint replies: every error class, against real HTTP servers.
import type { ServerResponse } from 'node:http';
import axios from 'axios';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  clientCredentials,
  fileToken,
  staticToken,
  jwtBearer,
  parseRetryAfter,
  refreshTokenGrant,
  TokenCache,
  TokenCacheConfigError,
  tokenExchange,
  TokenFetchError,
  TokenResponseError,
  type TokenCacheEvent,
} from 'nestjs-token-cache/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { json, startRawServer, type RawRequest, type RawServer } from '../../../../../test/support/raw-http-server.js';
import { FakeClock, flush } from '../testing/fake-clock.js';
import { httpError } from './oauth-grant.js';

const SECRET = 'cl:ient%2B+secret ✓';
const REFRESH = 'rt-0123456789-secret';
const ctx = (signal = new AbortController().signal) => ({ signal, clock: new FakeClock(Date.UTC(2026, 0, 1)) });

type Reply = (res: ServerResponse, req: RawRequest) => void;
let reply: Reply = (res) => json(res, 200, { access_token: 'x', token_type: 'Bearer' });
let server: RawServer;
beforeAll(async () => (server = await startRawServer((res, req) => reply(res, req))));
afterAll(() => server.close());

const source = () => clientCredentials({ tokenUrl: server.url, clientId: 'c', clientSecret: SECRET });
const fetchWith = async (r: Reply) => {
  reply = r;
  return source().fetchToken({ source: 'api' }, ctx());
};
const failWith = async (r: Reply) => {
  const error = await fetchWith(r).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeDefined();
  return error as Error;
};

describe('2xx replies that cannot be used are TokenResponseError', () => {
  const cases: [string, Reply][] = [
    ['an HTML page', (res) => (res.writeHead(200, { 'content-type': 'text/html' }), res.end('<html><body>Login</body></html>'))],
    ['truncated JSON', (res) => json(res, 200, '{"access_token":"abc","expi')],
    ['a body cut off before its content-length', (res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '200' });
      res.write('{"access_token":"abc"');
      setTimeout(() => res.destroy(), 10);
    }],
    ['an empty body', (res) => (res.writeHead(200, { 'content-type': 'application/json' }), res.end())],
    ['a JSON array', (res) => json(res, 200, [{ access_token: 'x' }])],
    ['no access_token', (res) => json(res, 200, { token_type: 'Bearer', expires_in: 60 })],
    ['an empty access_token', (res) => json(res, 200, { access_token: '', token_type: 'Bearer' })],
    ['a negative expires_in', (res) => json(res, 200, { access_token: 'x', token_type: 'Bearer', expires_in: -5 })],
    ['a non-numeric expires_in', (res) => json(res, 200, { access_token: 'x', token_type: 'Bearer', expires_in: 'soon' })],
    ['expires_in "3600abc" (openid-client would parseFloat it)', (res) => json(res, 200, { access_token: 'x', token_type: 'Bearer', expires_in: '3600abc' })],
    ['expires_in as an object', (res) => json(res, 200, { access_token: 'x', token_type: 'Bearer', expires_in: { s: 1 } })],
  ];
  it.each(cases)('%s', async (_name, r) => {
    const error = await failWith(r);
    expect(error).toBeInstanceOf(TokenResponseError);
    expect((error as TokenResponseError).source).toBe('api');
    expect(error.message).toContain('"api"');
    expect(error.message).not.toContain(SECRET);
  });

  it('accepts what the contract accepts though openid-client alone would not', async () => {
    // A numeric string expires_in, no token_type, a lower-case type.
    expect(await fetchWith((res) => json(res, 200, { access_token: 'a', expires_in: '3600' }))).toMatchObject({ accessToken: 'a', expiresIn: 3600 });
    expect(await fetchWith((res) => json(res, 200, { access_token: 'b', token_type: 'bearer', scope: 'x y' }))).toMatchObject({
      accessToken: 'b',
      tokenType: 'bearer',
      scope: 'x y',
    });
  });

  it('never returns the refresh_token of a client_credentials reply', async () => {
    const token = await fetchWith((res) => json(res, 200, { access_token: 'a', token_type: 'Bearer', refresh_token: 'rt' }));
    expect(token).not.toHaveProperty('refreshToken');
  });
});

describe('replies as real IdPs send them', () => {
  it('an extra field nested 10,000 levels deep (JSON.parse reads it, JSON.stringify overflows) does not stop the token', async () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    const token = await fetchWith((res) => json(res, 200, `{"access_token":"deep-ok","token_type":"Bearer","expires_in":60,"x":${deep}}`));
    expect(token.accessToken).toBe('deep-ok');
  });

  const form = (status: number, body: string, type = 'application/x-www-form-urlencoded; charset=utf-8'): Reply => (res) => (res.writeHead(status, { 'content-type': type }), res.end(body));

  it('a form-encoded token reply (older GitHub, Azure AD v1) is parsed like JSON', async () => {
    expect(await fetchWith(form(200, 'access_token=gho_16C7e42F292c6912E7710c838347Ae178B4a&scope=repo%2Cgist&token_type=bearer'))).toEqual({
      accessToken: 'gho_16C7e42F292c6912E7710c838347Ae178B4a',
      tokenType: 'bearer',
      scope: 'repo,gist',
    });
    expect(await fetchWith(form(200, 'token_type=Bearer&expires_in=3599&ext_expires_in=3599&access_token=ab%2Bc%2F%3D', 'text/plain'))).toMatchObject({
      accessToken: 'ab+c/=',
      expiresIn: 3599,
    });
  });

  it('a form-encoded error reply on a 400 keeps its oauthError', async () => {
    const error = (await failWith(form(400, 'error=invalid_client&error_description=bad+client'))) as TokenFetchError;
    expect(error).toMatchObject({ name: 'TokenFetchError', status: 400, oauthError: 'invalid_client', oauthErrorDescription: 'bad client', retryable: false });
  });

  it.each([
    ['invalid_grant', false],
    ['invalid_client', false],
    ['invalid_request', false],
    ['invalid_scope', false],
    ['temporarily_unavailable', true],
    ['server_error', true],
  ])('a 200 with {"error":"%s"} is a TokenFetchError classified as on a 400 (retryable: %s)', async (code, retryable) => {
    const on200 = (await failWith((res) => json(res, 200, { error: code, error_description: 'said on a 200' }))) as TokenFetchError;
    const on400 = (await failWith((res) => json(res, 400, { error: code, error_description: 'said on a 200' }))) as TokenFetchError;
    expect(on200).toBeInstanceOf(TokenFetchError);
    expect(on200).toMatchObject({ status: 200, oauthError: code, oauthErrorDescription: 'said on a 200', retryable });
    expect(on200.retryable).toBe(on400.retryable);
    expect(on200.message).toContain(`error "${code}"`);
  });

  it('a 200 form-encoded error and a 200 with both access_token and error are errors too', async () => {
    expect(await failWith(form(200, 'error=invalid_grant'))).toMatchObject({ name: 'TokenFetchError', oauthError: 'invalid_grant', retryable: false });
    expect(await failWith((res) => json(res, 200, { access_token: 'x', error: 'invalid_grant' }))).toMatchObject({ name: 'TokenFetchError', oauthError: 'invalid_grant' });
  });

  it('through the cache: a 200 invalid_grant backs off as long as the same error on a 400 (not 1 s), and caches nothing', async () => {
    const backoffAfter = async (r: Reply) => {
      const clock = new FakeClock();
      const cache = new TokenCache({ sources: { api: source() }, clock, random: () => 0.5 });
      reply = r;
      await expect(cache.getToken('api')).rejects.toMatchObject({ name: 'TokenFetchError', oauthError: 'invalid_grant' });
      expect(cache.entries()).toEqual([]);
      // API 0.2: a non-retryable error backs off 1 s, 2 s, 4 s… (a retryable one without a token: 1 s each), so
      // the wait after the second failure tells them apart.
      clock.advance(1_000);
      await expect(cache.getToken('api')).rejects.toMatchObject({ oauthError: 'invalid_grant' });
      reply = (res) => json(res, 200, { access_token: 'later', token_type: 'Bearer' });
      const before = server.requests.length;
      let waited = 0;
      for (; waited < 60_000; waited += 500) {
        clock.advance(500);
        if ((await cache.getToken('api').catch(() => undefined)) === 'later') break;
      }
      expect(server.requests.length).toBe(before + 1);
      await cache.close();
      return waited + 500;
    };
    const on200 = await backoffAfter((res) => json(res, 200, { error: 'invalid_grant' }));
    const on400 = await backoffAfter((res) => json(res, 400, { error: 'invalid_grant' }));
    expect(on200).toBe(on400);
    expect(on200).toBeGreaterThan(1_500);
  });

  it('an IdP that puts a secret into "error" leaves no oauthError holding it', async () => {
    const secretCode = 'cl:ient%2B+secret';
    const s = clientCredentials({ tokenUrl: server.url, clientId: 'c', clientSecret: secretCode });
    reply = (res) => json(res, 400, { error: secretCode });
    const e2 = (await s.fetchToken({ source: 'api' }, ctx()).catch((e: unknown) => e)) as TokenFetchError;
    expect(e2.oauthError).toBeUndefined();
    expect(e2.message).not.toContain(secretCode);
  });
});

describe('non-2xx replies are TokenFetchError with status, oauthError, retryable, retryAfterMs', () => {
  it('429 with Retry-After in seconds: retryable, retryAfterMs', async () => {
    const error = (await failWith((res) => json(res, 429, { error: 'slow_down' }, { 'retry-after': '7' }))) as TokenFetchError;
    expect(error).toBeInstanceOf(TokenFetchError);
    expect(error).toMatchObject({ status: 429, oauthError: 'slow_down', retryable: true, retryAfterMs: 7000 });
  });

  it('503 with Retry-After as an HTTP date, and an HTML body', async () => {
    const at = new Date(Date.UTC(2026, 0, 1) + 12_000).toUTCString();
    const error = (await failWith((res) => (res.writeHead(503, { 'content-type': 'text/html', 'retry-after': at }), res.end('<h1>down</h1>')))) as TokenFetchError;
    expect(error).toMatchObject({ status: 503, oauthError: undefined, retryable: true, retryAfterMs: 12_000 });
  });

  it('502 with an HTML body: retryable, status kept', async () => {
    const error = (await failWith((res) => (res.writeHead(502, { 'content-type': 'text/html' }), res.end('<h1>Bad gateway</h1>')))) as TokenFetchError;
    expect(error).toMatchObject({ name: 'TokenFetchError', status: 502, retryable: true, retryAfterMs: undefined });
  });

  it('400 invalid_grant / invalid_request and 401 invalid_client are not retryable; a Retry-After on them is ignored', async () => {
    for (const [status, code] of [
      [400, 'invalid_grant'],
      [400, 'invalid_request'],
      [401, 'invalid_client'],
    ] as const) {
      const error = (await failWith((res) => json(res, status, { error: code, error_description: 'why' }, { 'retry-after': '5' }))) as TokenFetchError;
      expect(error).toMatchObject({ status, oauthError: code, oauthErrorDescription: 'why', retryable: false, retryAfterMs: undefined });
    }
  });

  it('a redirect is not followed: a non-retryable TokenFetchError', async () => {
    const error = (await failWith((res) => (res.writeHead(302, { location: 'https://login.example/' }), res.end()))) as TokenFetchError;
    expect(error).toMatchObject({ name: 'TokenFetchError', status: 302, retryable: false });
  });

  it('an error_description with control characters (CR/LF, ANSI escapes, bidi overrides, LS) cannot forge log lines', async () => {
    const forged = 'bad client\r\n[Nest] 1  - LOG [Auth] user admin logged in\u001b[2J\u001b[31m\u202eevil\u2028x\u0085\u007f';
    for (const status of [400, 200]) {
      const error = (await failWith((res) => json(res, status, { error: 'invalid_client', error_description: forged }))) as TokenFetchError;
      for (const text of [error.message, error.oauthErrorDescription!]) {
        expect(text).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e\u2028]/);
        expect(text).toContain('bad client\\u000d\\u000a[Nest] 1  - LOG [Auth] user admin logged in\\u001b[2J');
      }
    }
  });

  it('an error_description that echoes a secret is redacted', async () => {
    const error = (await failWith((res) => json(res, 401, { error: 'invalid_client', error_description: `secret ${SECRET} is wrong` }))) as TokenFetchError;
    expect(error.oauthErrorDescription).toBe('secret [redacted] is wrong');
    expect(error.message).not.toContain(SECRET);
  });
});

describe('the token request', () => {
  it('a subjectToken given to a source that cannot use it (client credentials, static, file) is a TokenCacheConfigError naming it; nothing is sent', async () => {
    let sent = 0;
    reply = (res) => (sent++, json(res, 200, { access_token: 'x', token_type: 'Bearer' }));
    const dir = mkdtempSync(join(tmpdir(), 'sjt-'));
    writeFileSync(join(dir, 't'), 'file-token');
    const cache = new TokenCache({ sources: { cc: source(), st: staticToken('static-token'), file: fileToken({ path: join(dir, 't') }) } });
    try {
      for (const name of ['cc', 'st', 'file']) {
        const error = await cache.getToken(name, { subjectToken: 'user-token' }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(TokenCacheConfigError);
        expect(error).toMatchObject({ option: 'subjectToken', message: expect.stringMatching(/does not use "subjectToken".*Nothing was sent/) });
        expect((error as Error).message).not.toContain('user-token');
        expect(await cache.getToken(name)).toBeTypeOf('string'); // without one, the source works
      }
      expect(sent).toBe(1);
    } finally {
      await cache.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never goes through axios (so no token interceptor can recurse into it)', async () => {
    let seen = 0;
    const id = axios.interceptors.request.use((config) => {
      seen++;
      return config;
    });
    try {
      expect((await fetchWith((res) => json(res, 200, { access_token: 'via-fetch', token_type: 'Bearer' }))).accessToken).toBe('via-fetch');
      expect(seen).toBe(0);
    } finally {
      axios.interceptors.request.eject(id);
    }
  });
});

describe('no reply', () => {
  it('a network error (nothing listening) is a retryable TokenFetchError without status', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const s = clientCredentials({ tokenUrl: `http://127.0.0.1:${port}/token`, clientId: 'c', clientSecret: SECRET });
    const error = (await s.fetchToken({ source: 'api' }, ctx()).catch((e: unknown) => e)) as TokenFetchError;
    expect(error).toBeInstanceOf(TokenFetchError);
    expect(error).toMatchObject({ status: undefined, retryable: true });
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('a hanging endpoint is aborted by the signal, and the connection is closed', async () => {
    reply = () => undefined;
    const controller = new AbortController();
    const pending = source().fetchToken({ source: 'api' }, ctx(controller.signal)).catch((e: unknown) => e);
    await server.nextRequest();
    const abandoned = server.nextAbandoned();
    controller.abort();
    const error = (await pending) as TokenFetchError;
    expect(error).toBeInstanceOf(TokenFetchError);
    expect(error.retryable).toBe(true);
    await abandoned;
  });

  it('through the cache: a hanging endpoint times out on the cache clock (fetchTimeoutMs), is not cached, and backs off', async () => {
    reply = () => undefined;
    const clock = new FakeClock();
    const cache = new TokenCache({ sources: { api: source() }, clock, fetchTimeoutMs: 5_000 });
    const events: TokenCacheEvent[] = [];
    cache.events$.subscribe((e) => events.push(e));
    const arrived = server.nextRequest();
    const pending = cache.getToken('api').catch((e: unknown) => e);
    await arrived;
    const abandoned = server.nextAbandoned();
    clock.advance(4_999);
    await flush();
    expect(cache.stats().inFlight).toBe(1);
    clock.advance(1);
    const error = (await pending) as TokenFetchError;
    expect(error).toBeInstanceOf(TokenFetchError);
    expect(error.message).toContain('timed out after 5000 ms');
    await abandoned; // the HTTP request itself was aborted, not just abandoned by the cache
    expect(cache.entries()).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(['fetch_failed']);
    await cache.close();
  });

  it("the source's timeoutMs overrides the cache's fetchTimeoutMs", async () => {
    reply = () => undefined;
    const clock = new FakeClock();
    const cache = new TokenCache({
      sources: { api: clientCredentials({ tokenUrl: server.url, clientId: 'c', clientSecret: SECRET, timeoutMs: 300 }) },
      clock,
      fetchTimeoutMs: 60_000,
    });
    const arrived = server.nextRequest();
    const pending = cache.getToken('api').catch((e: unknown) => e);
    await arrived;
    clock.advance(300);
    expect(((await pending) as Error).message).toContain('timed out after 300 ms');
    await cache.close();
  });
});

describe('through the cache', () => {
  afterEach(() => {
    reply = (res) => json(res, 200, { access_token: 'x', token_type: 'Bearer' });
  });

  it('a bad 200 reply is never cached; the next call after the backoff fetches again', async () => {
    const clock = new FakeClock();
    const cache = new TokenCache({ sources: { api: source() }, clock, random: () => 0.5 } as never);
    reply = (res) => json(res, 200, { access_token: 'x', token_type: 'Bearer', expires_in: -1 });
    await expect(cache.getToken('api')).rejects.toBeInstanceOf(TokenResponseError);
    expect(cache.entries()).toEqual([]);
    reply = (res) => json(res, 200, { access_token: 'good', token_type: 'Bearer', expires_in: 60 });
    clock.advance(1_000);
    expect(await cache.getToken('api')).toBe('good');
    await cache.close();
  });

  it('a 429 Retry-After longer than the backoff is honoured', async () => {
    const clock = new FakeClock();
    const cache = new TokenCache({ sources: { api: source() }, clock });
    reply = (res) => json(res, 429, {}, { 'retry-after': '20' });
    await expect(cache.getToken('api')).rejects.toMatchObject({ status: 429 });
    reply = (res) => json(res, 200, { access_token: 'after', token_type: 'Bearer' });
    const before = server.requests.length;
    clock.advance(19_000);
    await expect(cache.getToken('api')).rejects.toMatchObject({ status: 429 }); // still backing off: no request
    expect(server.requests.length).toBe(before);
    clock.advance(1_000);
    expect(await cache.getToken('api')).toBe('after');
    await cache.close();
  });

  it('no secret (client secret, refresh token, access token) in any error, event or log line', async () => {
    const ACCESS = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.sig-access-token';
    const lines: string[] = [];
    const logger = { warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m), log: (m: string) => lines.push(m), debug: (m: string) => lines.push(m) };
    const clock = new FakeClock();
    const cache = new TokenCache({
      sources: {
        cc: source(),
        rt: refreshTokenGrant({ tokenUrl: server.url, clientId: 'c', clientSecret: SECRET, refreshToken: REFRESH }),
      },
      clock,
      logger,
    });
    const events: TokenCacheEvent[] = [];
    cache.events$.subscribe((e) => events.push(e));
    const errors: unknown[] = [];
    // A careless server that echoes what it was sent: the Basic header, its decoded secret, the refresh token.
    const echo = (req: RawRequest) => {
      const basic = req.headers.authorization ?? '';
      const password = decodeURIComponent(Buffer.from(basic.slice(6), 'base64').toString().split(':')[1]!.replace(/\+/g, '%20'));
      return `${basic} ${password} ${req.body.get('refresh_token') ?? ''} ${ACCESS}`;
    };
    const replies: Reply[] = [
      (res, req) => json(res, 401, { error: 'invalid_client', error_description: echo(req) }),
      (res, req) => json(res, 400, { error: 'invalid_grant', error_description: echo(req) }),
      (res, req) => (res.writeHead(500, { 'content-type': 'text/html' }), res.end(echo(req))),
      (res, req) => (res.writeHead(200, { 'content-type': 'text/html' }), res.end(echo(req))),
      (res) => json(res, 200, { access_token: ACCESS, expires_in: `${SECRET}` }),
    ];
    for (const r of replies) {
      reply = r;
      for (const name of ['cc', 'rt']) {
        await cache.refresh(name).catch((e: unknown) => errors.push(e));
        clock.advance(300_000);
      }
    }
    expect(errors).toHaveLength(replies.length * 2);
    const seen = [
      ...errors.map((e) => `${(e as Error).message} ${JSON.stringify(e)} ${String((e as TokenFetchError).oauthErrorDescription)}`),
      ...events.map((e) => JSON.stringify(e)),
      ...lines,
      JSON.stringify(cache.stats()),
      JSON.stringify(cache.entries()),
    ].join('\n');
    for (const secret of [SECRET, REFRESH, ACCESS, Buffer.from(`c:${SECRET}`).toString('base64')]) expect(seen).not.toContain(secret);
    expect(seen).toContain('invalid_client'); // the scan did see the messages
    expect(server.requests.some((r) => r.body.get('refresh_token') === REFRESH)).toBe(true);
    await cache.close();
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 0, 1);
  it.each([
    ['120', 120_000],
    [' 0 ', 0],
    [new Date(now + 30_000).toUTCString(), 30_000],
    [new Date(now - 30_000).toUTCString(), 0],
    ['99999', 300_000],
  ])('%s -> %s ms', (value, ms) => expect(parseRetryAfter(value, now)).toBe(ms));
  it.each([null, undefined, '', 'soon', '-5', '1.5'])('%s -> undefined', (value) => expect(parseRetryAfter(value, now)).toBeUndefined());
});

describe('httpError: oauthError is an RFC 6749 error code or nothing', () => {
  const clock = { now: () => 0 };
  it('keeps a code', () => {
    expect(httpError(400, null, '{"error":"invalid_client"}', 's', { clock }).oauthError).toBe('invalid_client');
  });
  it('drops anything that is not a code (an echoed token, a huge or quoted value) from the field and the message', () => {
    for (const error of ['eyJhbGciOi.secret"value', 'x'.repeat(65), 'line\nbreak', '']) {
      const e = httpError(400, null, JSON.stringify({ error }), 's', { clock });
      expect(e.oauthError).toBeUndefined();
      if (error) expect(e.message).not.toContain(error);
    }
  });
});

describe('httpError: an invalid_grant says what the grant rejected', () => {
  const clock = { now: () => 0 };
  const invalidGrant = (grantType?: string) => httpError(400, null, '{"error":"invalid_grant"}', 's', { clock }, [], null, 400, grantType).message;
  it('names the refresh token for refresh_token (and when the grant is not known)', () => {
    expect(invalidGrant('refresh_token')).toMatch(/refresh token\) was rejected/);
    expect(invalidGrant()).toMatch(/refresh token\) was rejected/);
  });
  it('names the subject token for token exchange (RFC 8693)', () => {
    const message = invalidGrant('urn:ietf:params:oauth:grant-type:token-exchange');
    expect(message).toMatch(/subject token .* was rejected \(RFC 8693\)/);
    expect(message).not.toMatch(/refresh token/);
  });
  it('names the assertion for the JWT bearer grant (RFC 7523)', () => {
    expect(invalidGrant('urn:ietf:params:oauth:grant-type:jwt-bearer')).toMatch(/assertion was rejected \(RFC 7523\).*"aud"/);
  });
  it('stays generic for client credentials', () => {
    expect(invalidGrant('client_credentials')).toMatch(/The grant was rejected/);
    expect(invalidGrant('client_credentials')).not.toMatch(/refresh token/);
  });
});

describe('a misspelt or unknown source option fails at start, naming it (with a did-you-mean)', () => {
  const base = { tokenUrl: 'http://127.0.0.1:9/token', clientId: 'c', clientSecret: 'the-secret-value' };
  const cases: [string, () => unknown, string, RegExp][] = [
    ['clientCredentials', () => clientCredentials({ ...base, tokenURL: 'x' } as never), 'clientCredentials.tokenURL', /did you mean "clientCredentials.tokenUrl"/],
    ['refreshTokenGrant', () => refreshTokenGrant({ ...base, refreshToken: 'rt', onRefreshTokenRotate: () => {} } as never), 'refreshTokenGrant.onRefreshTokenRotate', /onRefreshTokenRotated/],
    ['tokenExchange', () => tokenExchange({ ...base, subjectTokenTyp: 'x' } as never), 'tokenExchange.subjectTokenTyp', /did you mean "tokenExchange.subjectTokenType"/],
    ['jwtBearer', () => jwtBearer({ tokenUrl: base.tokenUrl, assertion: 'a.b.c', scopes: 'read' } as never), 'jwtBearer.scopes', /did you mean "jwtBearer.scope"/],
  ];
  it.each(cases)('%s', (_name, make, option, hint) => {
    let error: unknown;
    try {
      make();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TokenCacheConfigError);
    expect(error).toMatchObject({ option });
    expect((error as Error).message).toMatch(hint);
    expect((error as Error).message).not.toContain('the-secret-value');
  });
  it('every documented option is accepted', () => {
    const all = { tokenUrl: base.tokenUrl, clientId: 'c', clientSecret: 's', extraParams: { a: 'b' }, timeoutMs: 1000, maxResponseBytes: 1000, fetch };
    expect(() => tokenExchange({ ...all, subjectTokenType: 'x', requestedTokenType: 'y', actorToken: 'z', actorTokenType: 'w', scope: 'r', audience: 'a', resource: 'https://r' })).not.toThrow();
    expect(() => jwtBearer({ ...all, assertion: 'a.b.c', scope: 'r', audience: 'a', resource: 'https://r' })).not.toThrow();
    expect(() => clientCredentials({ ...all, scope: 'r', audience: 'a', resource: 'https://r' })).not.toThrow();
    expect(() => refreshTokenGrant({ ...all, refreshToken: 'rt', scope: 'r', audience: 'a', resource: 'https://r', onRefreshTokenRotated: () => {}, logger: console })).not.toThrow();
  });
});

describe('tls.ca must hold a certificate', () => {
  it.each([['not a certificate'], [Buffer.from('garbage')], [['-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----']]])('%s: TokenCacheConfigError naming tls.ca at start', (ca) => {
    expect(() => tokenExchange({ tokenUrl: 'https://127.0.0.1:9/token', clientId: 'c', clientSecret: 's', tls: { ca: ca as never } })).toThrow(
      expect.objectContaining({ name: 'TokenCacheConfigError', option: expect.stringMatching(/^tokenExchange\.tls\.ca(\[0\])?$/), message: expect.stringMatching(/holds no certificate/) }),
    );
  });
});

describe('extraParams with secret-looking names are redacted like the client secret', () => {
  const secrets = { password: 'XP-password-Secr3tValue', api_key: 'ak_live_0123456789', 'subscription-key': 'sub+key/0123=9' };
  it('in the message, oauthErrorDescription and util.inspect, in every encoding an IdP echoes; other params stay readable', async () => {
    const { inspect } = await import('node:util');
    for (const [name, value] of Object.entries(secrets)) {
      const echoes = [value, encodeURIComponent(value), new URLSearchParams({ v: value }).toString().slice(2), Buffer.from(value).toString('base64')];
      for (const echoed of echoes) {
        reply = (res) => json(res, 400, { error: 'invalid_request', error_description: `${name}=${echoed} tenant=acme-tenant` });
        const s = clientCredentials({ tokenUrl: server.url, clientId: 'c', clientSecret: SECRET, authMethod: 'client_secret_post', extraParams: { [name]: value, tenant: 'acme-tenant' } });
        const error = (await s.fetchToken({ source: 'api' }, ctx()).catch((e: unknown) => e)) as TokenFetchError;
        expect(error).toBeInstanceOf(TokenFetchError);
        const shown = `${error.message}\n${error.oauthErrorDescription ?? ''}\n${inspect(error, { depth: 5 })}`;
        expect(shown, `${name} echoed as ${echoed}`).not.toContain(echoed);
        expect(error.oauthErrorDescription).toContain('tenant=acme-tenant');
      }
    }
  });
});
