// The bounded body reader, on Response objects and on real loopback replies: oversized, endless, cut short.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { clientCredentials, TokenCache, TokenResponseError } from 'nestjs-token-cache/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../testing/fake-clock.js';
import { readBoundedText, ReplyTooLargeError } from './bounded-body.js';

const chunked = (parts: (string | Uint8Array)[], headers: Record<string, string> = {}) =>
  new Response(
    new ReadableStream<Uint8Array>({
      start(c) {
        for (const p of parts) c.enqueue(typeof p === 'string' ? new TextEncoder().encode(p) : p);
        c.close();
      },
    }),
    { headers },
  );

describe('readBoundedText on a Response', () => {
  it('reads a body up to and including the limit, across chunks, as UTF-8 (multi-byte characters split between chunks)', async () => {
    const euro = new TextEncoder().encode('€'); // 3 bytes
    expect(await readBoundedText(chunked(['ab', euro.slice(0, 1), euro.slice(1), 'c']), 6)).toBe('ab€c');
    expect(await readBoundedText(new Response('x'.repeat(10)), 10)).toBe('x'.repeat(10));
    expect(await readBoundedText(new Response(null), 10)).toBe('');
    expect(await readBoundedText(new Response(''), 10)).toBe('');
  });

  it('rejects one byte over the limit, and cancels the stream', async () => {
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        c.enqueue(new Uint8Array(4));
      },
      cancel() {
        cancelled = true;
      },
    });
    const error = await readBoundedText(new Response(stream), 11).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReplyTooLargeError);
    expect(error).toMatchObject({ maxBytes: 11, declared: false });
    expect(cancelled).toBe(true);
  });

  it('rejects a declared Content-Length over the limit before reading anything', async () => {
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled++;
        c.enqueue(new Uint8Array(1));
      },
    });
    const error = await readBoundedText(new Response(stream, { headers: { 'content-length': '2000' } }), 1000).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ReplyTooLargeError', declared: true });
    expect(pulled).toBeLessThanOrEqual(1); // the stream's start-up pull, never the body
  });

  it('passes on a stream error (connection broken mid-body)', async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array(3));
        c.error(new TypeError('terminated'));
      },
    });
    await expect(readBoundedText(new Response(stream), 100)).rejects.toThrow('terminated');
  });
});

// ------------------------------------------------------------------ on the wire

type Handler = (res: ServerResponse) => void;
let handler: Handler = (res) => res.end();
let server: Server;
let url: string;
/** Resolves each time the server sees a reply's connection closed before the reply ended. */
let onAbandoned: (() => void)[] = [];
let written = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.on('close', () => {
        if (!res.writableEnded) for (const f of onAbandoned.splice(0)) f();
      });
      handler(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
});
afterAll(
  () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
);

/** Streams `total` bytes (Infinity: forever) in 64 KB chunks, honouring backpressure so the server stays small. */
function stream(total: number, headers: Record<string, string | number> = {}): Handler {
  return (res) => {
    res.writeHead(200, { 'content-type': 'application/json', ...headers });
    const chunk = Buffer.alloc(65_536, 0x61);
    let sent = 0;
    const pump = () => {
      while (!res.destroyed && sent < total) {
        const n = Math.min(chunk.length, total - sent);
        sent += n;
        written += n;
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', pump);
      }
      if (sent >= total && !res.destroyed) res.end();
    };
    res.write('{"access_token":"');
    pump();
  };
}

const source = (maxResponseBytes?: number) => clientCredentials({ tokenUrl: url, clientId: 'c', clientSecret: 's3cret-value', maxResponseBytes });
const fetchOnce = (maxResponseBytes?: number) =>
  source(maxResponseBytes)
    .fetchToken({ source: 'api' }, { signal: new AbortController().signal, clock: new FakeClock() })
    .then(
      () => undefined,
      (e: unknown) => e as Error,
    );

function memory(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss;
}

describe('maxResponseBytes on the wire', () => {
  it('a 50 MB reply is abandoned after 1 MB (default): TokenResponseError, connection closed, memory bounded', async () => {
    const before = memory();
    written = 0;
    handler = stream(50 * 1024 * 1024); // chunked: no Content-Length to stop it early
    const abandoned = new Promise<void>((resolve) => onAbandoned.push(resolve));
    const error = await fetchOnce();
    expect(error).toBeInstanceOf(TokenResponseError);
    expect(error!.message).toContain('larger than maxResponseBytes (1048576 bytes)');
    await abandoned;
    expect(written).toBeLessThan(20 * 1024 * 1024); // the client stopped reading long before the end
    expect(memory() - before).toBeLessThan(64 * 1024 * 1024); // was +250 MB when the body was read whole
  });

  it('an endless chunked reply is abandoned at the limit and its connection closed', async () => {
    const before = memory();
    handler = stream(Infinity);
    const abandoned = new Promise<void>((resolve) => onAbandoned.push(resolve));
    const error = await fetchOnce(64 * 1024);
    expect(error).toBeInstanceOf(TokenResponseError);
    expect(error!.message).toContain('maxResponseBytes (65536 bytes)');
    await abandoned;
    expect(memory() - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('a declared Content-Length over the limit is refused before its body is read', async () => {
    handler = stream(5 * 1024 * 1024, { 'content-length': 5 * 1024 * 1024 + 17 });
    const abandoned = new Promise<void>((resolve) => onAbandoned.push(resolve));
    expect(await fetchOnce()).toBeInstanceOf(TokenResponseError);
    await abandoned;
  });

  it('a reply of exactly maxResponseBytes is read', async () => {
    const body = JSON.stringify({ access_token: 'ok', token_type: 'Bearer', pad: '' });
    const padded = JSON.stringify({ access_token: 'ok', token_type: 'Bearer', pad: 'x'.repeat(200 - body.length) });
    handler = (res) => (res.writeHead(200, { 'content-type': 'application/json' }), res.end(padded));
    const token = await source(200).fetchToken({ source: 'api' }, { signal: new AbortController().signal, clock: new FakeClock() });
    expect(padded.length).toBe(200);
    expect(token.accessToken).toBe('ok');
  });

  it('a connection closed mid-reply is a TokenResponseError (truncated)', async () => {
    handler = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"access_token":"abc');
      setTimeout(() => res.destroy(), 5);
    };
    const error = await fetchOnce();
    expect(error).toBeInstanceOf(TokenResponseError);
    expect(error!.message).toContain('truncated');
  });

  it('an oversized error reply (non-2xx) still gives a TokenFetchError with its status', async () => {
    handler = (res) => {
      res.writeHead(503, { 'content-type': 'text/html' });
      res.end('x'.repeat(300_000));
    };
    expect(await fetchOnce(1000)).toMatchObject({ name: 'TokenFetchError', status: 503, retryable: true });
  });

  it('through the cache: an oversized reply is never cached and a still-valid token keeps being served', async () => {
    handler = (res) => (res.writeHead(200, { 'content-type': 'application/json' }), res.end('{"access_token":"first","expires_in":600}'));
    const clock = new FakeClock();
    const cache = new TokenCache({ sources: { api: source(4096) }, clock, refreshBeforeExpiryMs: 300_000 });
    expect(await cache.getToken('api')).toBe('first');
    handler = stream(Infinity);
    clock.advance(400_000); // refresh-due: the background refresh meets the endless reply
    expect(await cache.getToken('api')).toBe('first');
    await expect(cache.refresh('api')).rejects.toBeInstanceOf(TokenResponseError);
    expect(await cache.getToken('api')).toBe('first');
    expect(cache.peek('api')?.accessToken).toBe('first');
    expect(cache.stats().fetchFailures).toBeGreaterThanOrEqual(1);
    await cache.close();
  });

  it('maxResponseBytes must be a positive integer', () => {
    for (const bad of [0, -1, 1.5, '1000', null, Number.NaN, Infinity]) {
      expect(() => source(bad as never), String(bad)).toThrow(/clientCredentials\.maxResponseBytes/);
    }
  });
});
