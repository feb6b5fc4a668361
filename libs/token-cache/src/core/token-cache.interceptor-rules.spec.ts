import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { headerPrefix, isReplayableBody, isTokenRejected, sentToken } from './token-cache.interceptor-rules.js';

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

describe('headerPrefix / sentToken', () => {
  it('reads back the token the request sent, only from a value of our shape', () => {
    const prefix = headerPrefix('Bearer');
    expect(prefix).toBe('Bearer ');
    expect(sentToken('Bearer abc.def', prefix)).toBe('abc.def');
    expect(sentToken('Basic abc', prefix)).toBeUndefined();
    expect(sentToken('Bearer ', prefix)).toBeUndefined();
    expect(sentToken(undefined, prefix)).toBeUndefined();
    expect(sentToken('raw-token', headerPrefix(''))).toBe('raw-token');
  });
});
