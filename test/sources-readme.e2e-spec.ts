// The README's source examples (docs/package/20-sources.md), run against look-alike servers on loopback.
import { FakeClock } from '../libs/token-cache/src/core/testing/fake-clock.js';
import { refreshTokenGrant, TokenCache, TokenFetchError, tokenFunction } from 'nestjs-token-cache';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { json, startRawServer, type RawServer } from './support/raw-http-server.js';

describe('README: ProjectX-style login (tokenFunction posting a user name and API key)', () => {
  const API_KEY = 'pX-api-key-0123456789';
  let server: RawServer;
  let n = 0;
  beforeAll(async () => {
    server = await startRawServer((res, req) => {
      const body = JSON.parse(req.text) as { userName?: string; apiKey?: string };
      if (body.userName === 'trader' && body.apiKey === API_KEY) json(res, 200, { token: `px-token-${++n}`, success: true, errorCode: 0, errorMessage: null });
      else json(res, 200, { token: null, success: false, errorCode: 3, errorMessage: `invalid key ${body.apiKey}` });
    });
  });
  afterAll(() => server.close());

  // As in the README, with the environment turned into parameters.
  const projectX = (baseUrl: string, userName: string, apiKey: string) =>
    tokenFunction(
      async (_request, { signal }) => {
        const res = await fetch(`${baseUrl}/api/Auth/loginKey`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/plain' },
          body: JSON.stringify({ userName, apiKey }),
          signal,
        });
        if (!res.ok) {
          throw new TokenFetchError(`ProjectX login failed: HTTP ${res.status}`, {
            status: res.status,
            retryable: res.status >= 500 || res.status === 429,
          });
        }
        const body = (await res.json()) as { token?: string; success: boolean; errorCode: number };
        if (!body.success || !body.token) {
          throw new TokenFetchError(`ProjectX login refused (errorCode ${body.errorCode})`, { retryable: false });
        }
        return { accessToken: body.token, expiresIn: 24 * 60 * 60 };
      },
      { timeoutMs: 15_000 },
    );

  it('logs in once, keeps the token 24 hours, refreshes it in the background before the end', async () => {
    const clock = new FakeClock(Date.now());
    const base = server.url.replace(/\/token$/, '');
    const cache = new TokenCache({ sources: { projectX: projectX(base, 'trader', API_KEY) }, clock });
    const [a, b] = await Promise.all([cache.getToken('projectX'), cache.getToken('projectX')]);
    expect(a).toBe('px-token-1');
    expect(b).toBe(a);
    expect((await cache.getCachedToken('projectX')).expiresAt.getTime()).toBe(clock.now() + 86_400_000);
    clock.advance(86_400_000 - 299_000); // inside the last 5 minutes
    expect(await cache.getToken('projectX')).toBe('px-token-1'); // served at once…
    await vi.waitFor(() => expect(cache.peek('projectX')?.accessToken).toBe('px-token-2')); // …and replaced behind it
    await cache.close();
  });

  it('a refused key is a non-retryable TokenFetchError without the key', async () => {
    const base = server.url.replace(/\/token$/, '');
    const cache = new TokenCache({ sources: { projectX: projectX(base, 'trader', 'wrong-key-987654') } });
    const error = (await cache.getToken('projectX').catch((e: unknown) => e)) as TokenFetchError;
    expect(error).toMatchObject({ name: 'TokenFetchError', retryable: false });
    expect(error.message).toContain('errorCode 3');
    expect(error.message).not.toContain('wrong-key-987654');
    await cache.close();
  });
});

describe('README: Spotify-style refresh token (client_secret_basic, rotation only sometimes)', () => {
  const CLIENT_SECRET = 'spotify-client-secret';
  let server: RawServer;
  const valid = new Set(['AQD-initial-refresh-token']);
  let n = 0;
  beforeAll(async () => {
    server = await startRawServer((res, req) => {
      // RFC 6749 §2.3.1: id and secret are form-encoded before Basic (`-` arrives as %2D).
      const basic = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
      const [id, secret] = basic.split(':').map((part) => decodeURIComponent(part.replace(/\+/g, '%20')));
      if (id !== 'spotify-app' || secret !== CLIENT_SECRET) return json(res, 400, { error: 'invalid_client', error_description: 'Invalid client' });
      const rt = req.body.get('refresh_token') ?? '';
      if (req.body.get('grant_type') !== 'refresh_token' || !valid.has(rt)) {
        return json(res, 400, { error: 'invalid_grant', error_description: 'Invalid refresh token' });
      }
      n++;
      const reply: Record<string, unknown> = { access_token: `BQ-access-${n}`, token_type: 'Bearer', scope: 'user-read-private', expires_in: 3600 };
      if (n % 2 === 0) {
        // Rotates every other time, and the old token dies.
        valid.delete(rt);
        reply.refresh_token = `AQD-rotated-${n}`;
        valid.add(reply.refresh_token as string);
      }
      json(res, 200, reply);
    });
  });
  afterAll(() => server.close());

  it('keeps the refresh token when none comes back, switches and persists when one does', async () => {
    const saved: string[] = [];
    const spotify = refreshTokenGrant({
      tokenUrl: server.url,
      clientId: 'spotify-app',
      clientSecret: CLIENT_SECRET,
      refreshToken: 'AQD-initial-refresh-token',
      onRefreshTokenRotated: async (rt) => void saved.push(rt),
    });
    const cache = new TokenCache({ sources: { spotify } });
    expect(await cache.getToken('spotify')).toBe('BQ-access-1');
    expect(saved).toEqual([]);
    expect(await cache.refresh('spotify')).toBe('BQ-access-2');
    expect(saved).toEqual(['AQD-rotated-2']);
    expect(await cache.refresh('spotify')).toBe('BQ-access-3');
    expect(server.requests.at(-1)!.body.get('refresh_token')).toBe('AQD-rotated-2');
    expect(await cache.refresh('spotify')).toBe('BQ-access-4');
    expect(saved).toEqual(['AQD-rotated-2', 'AQD-rotated-4']);
    await cache.close();
  });
});
