import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { harness } from './testing/harness.js';
import {
  headerPrefix,
  headerPresentation,
  isReplayableBody,
  isTokenRejected,
  retryDecision,
  TokenRenewal,
  verdictOf,
} from './token-retry.js';

describe('isTokenRejected', () => {
  it('is true for any 401, whatever the challenge', () => {
    expect(isTokenRejected(401, undefined)).toBe(true);
    expect(isTokenRejected(401, 'Basic realm="x"')).toBe(true);
  });

  it('is true for a Bearer invalid_token challenge on another status, quoted or not, in a list of challenges', () => {
    expect(isTokenRejected(403, 'Bearer error="invalid_token"')).toBe(true);
    expect(isTokenRejected(400, 'Basic realm="a", Bearer realm="b", error="invalid_token", error_description="expired"')).toBe(true);
    expect(isTokenRejected(403, 'bearer error=invalid_token')).toBe(true);
    expect(isTokenRejected(403, ['Basic realm="a"', 'Bearer error="invalid_token"'])).toBe(true);
  });

  it('is false for other errors and challenges', () => {
    expect(isTokenRejected(403, undefined)).toBe(false);
    expect(isTokenRejected(403, 'Bearer error="insufficient_scope"')).toBe(false);
    expect(isTokenRejected(400, 'Bearer error="invalid_request"')).toBe(false);
    expect(isTokenRejected(403, 'Basic error="invalid_token"')).toBe(false);
    expect(isTokenRejected(500, '')).toBe(false);
    expect(isTokenRejected(200, undefined)).toBe(false);
  });
});

describe('isReplayableBody', () => {
  it('accepts what axios re-serialises', () => {
    for (const body of [undefined, null, '', 'text', 42, { a: 1 }, [1, 2], Buffer.from('x'), new Uint8Array(2), new ArrayBuffer(4), new URLSearchParams('a=1'), new Blob(['x']), new FormData()]) {
      expect(isReplayableBody(body)).toBe(true);
    }
  });

  it('refuses streams: node Readable, web ReadableStream, async iterables, pipe-able objects (form-data)', () => {
    expect(isReplayableBody(Readable.from(['x']))).toBe(false);
    expect(isReplayableBody(new ReadableStream())).toBe(false);
    expect(isReplayableBody((async function* () {})())).toBe(false);
    expect(isReplayableBody({ pipe: () => undefined })).toBe(false);
  });
});

describe('headerPresentation', () => {
  it('puts <scheme> <token> in the configured header, or the bare token with an empty scheme', () => {
    const req = { method: 'GET', url: 'http://127.0.0.1/x' };
    expect(headerPresentation('Authorization', 'Bearer').headers('abc', req)).toEqual({ Authorization: 'Bearer abc' });
    expect(headerPresentation('X-Api-Key', '').headers('abc', req)).toEqual({ 'X-Api-Key': 'abc' });
    expect(headerPrefix('')).toBe('');
  });
});

describe('verdictOf / retryDecision: what to do with a reply', () => {
  const bearer = headerPresentation('Authorization', 'Bearer');
  const headers = (h: Record<string, string>) => (name: string) => h[name.toLowerCase()];
  const req = { method: 'GET', url: 'http://127.0.0.1/x' };

  it('reads a 401 or an invalid_token challenge (any status, 2xx included) as a rejected token', () => {
    expect(verdictOf(bearer, 401, headers({}), req)).toBe('token-rejected');
    expect(verdictOf(bearer, 200, headers({ 'www-authenticate': 'Bearer error="invalid_token"' }), req)).toBe('token-rejected');
    expect(verdictOf(bearer, 403, headers({ 'www-authenticate': 'Bearer error="invalid_token"' }), req)).toBe('token-rejected');
    expect(verdictOf(bearer, 403, headers({ 'www-authenticate': 'Bearer error="insufficient_scope"' }), req)).toBe('accepted');
    expect(verdictOf(bearer, 200, headers({}), req)).toBe('accepted');
  });

  it('lets a presentation classify replies itself (a DPoP nonce retry keeps the token)', () => {
    const dpopLike = { ...bearer, classify: () => 'retry-same-token' as const };
    expect(verdictOf(dpopLike, 401, headers({}), req)).toBe('retry-same-token');
  });

  it('retries once: never after a retry, never a body that cannot be sent again (but still drops the token)', () => {
    expect(retryDecision('token-rejected', false, true)).toBe('renew-and-retry');
    expect(retryDecision('token-rejected', false, false)).toBe('invalidate');
    expect(retryDecision('token-rejected', true, true)).toBe('return');
    expect(retryDecision('retry-same-token', false, true)).toBe('retry');
    expect(retryDecision('retry-same-token', false, false)).toBe('return');
    expect(retryDecision('retry-same-token', true, true)).toBe('return');
    expect(retryDecision('accepted', false, true)).toBe('return');
  });
});

describe('TokenRenewal', () => {
  it('hands out a warm token synchronously and a cold one as a promise', async () => {
    const { cache } = harness();
    const renewal = new TokenRenewal(cache, 'api');
    const cold = renewal.acquire(undefined);
    expect(cold).toBeInstanceOf(Promise);
    const token = await cold;
    expect(renewal.acquire(undefined)).toBe(token);
  });

  it('N concurrent renewals of one rejected token make one invalidation and one fetch, and all get the new token', async () => {
    const { cache, source } = harness();
    const renewal = new TokenRenewal(cache, 'api');
    const old = await cache.getToken('api', { subject: 'alice' });
    const renewed = await Promise.all(Array.from({ length: 20 }, () => renewal.renew({ subject: 'alice' }, old)));
    expect(new Set(renewed).size).toBe(1);
    expect(renewed[0]).not.toBe(old);
    expect(source.count).toBe(2);
    expect(cache.stats().invalidations).toBe(1);
    // A late rejection of the old token, after the renewal finished: nothing invalidated, nothing fetched.
    expect(await renewal.renew({ subject: 'alice' }, old)).toBe(renewed[0]);
    expect(source.count).toBe(2);
    expect(cache.stats().invalidations).toBe(1);
  });

  it('invalidates the token handed out, not another key\'s, and a failing fetch rejects every waiter with its error', async () => {
    const { cache, source } = harness();
    const renewal = new TokenRenewal(cache, 'api');
    const alice = await cache.getToken('api', { subject: 'alice' });
    const bob = await cache.getToken('api', { subject: 'bob' });
    source.reply = () => {
      throw new Error('idp down');
    };
    const results = await Promise.allSettled([renewal.renew({ subject: 'alice' }, alice), renewal.renew({ subject: 'alice' }, alice)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(((results[0] as PromiseRejectedResult).reason as Error).name).toBe('TokenFetchError');
    expect(cache.peek('api', { subject: 'bob' })?.accessToken).toBe(bob);
    expect(source.count).toBe(3);
  });

  it('a store that fails to invalidate does not fail the renewal', async () => {
    const { cache } = harness();
    const old = await cache.getToken('api');
    const flaky = { getToken: cache.getToken.bind(cache), invalidate: () => Promise.reject(new Error('store down')) };
    expect(await new TokenRenewal(flaky, 'api').renew(undefined, old)).toBe(old);
  });
});
