/**
 * Token requests that go straight to the token endpoint (no proxy), over `node:http` / `node:https` with a
 * keep-alive agent, answered as a WHATWG `Response` (what the OAuth client and the bounded body reader read).
 *
 * Why not undici for these: measured in bench/peers, undici's `fetch` (and its `request`) costs about ten
 * times the CPU of `node:http` per token request while the process is young (its HTTP/1 client is JavaScript
 * plus a WebAssembly parser compiled on the first connection; Node's own parser is native), and that cost sat
 * on the first caller's path: a cold burst waited ~20 ms longer than an axios-based client. Proxied requests
 * (`HTTPS_PROXY`…) still go through undici's `EnvHttpProxyAgent` (oauth-egress.ts); only direct ones come here.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import { Readable, type Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

/** Statuses whose `Response` may not have a body. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

export interface DirectHttp {
  /**
   * Sends the request when it can be sent directly (http/https URL; a body that is a string, URLSearchParams,
   * bytes or none); else returns undefined and the caller uses its general transport.
   */
  fetch(url: string, init: RequestInit): Promise<Response> | undefined;
  /** Closes the pooled connections. */
  close(): void;
}

/** `tls`: client certificate and CAs for https connections (passed to `tls.connect`, as undici's `connect` does). */
export function createDirectHttp(tls?: ConnectionOptions): DirectHttp {
  let http: HttpAgent | undefined;
  let https: HttpsAgent | undefined;
  return {
    fetch(url, init) {
      const target = new URL(url);
      const secure = target.protocol === 'https:';
      if (!secure && target.protocol !== 'http:') return undefined;
      const body = bodyBytes(init.body);
      if (body === false) return undefined;
      const headers = headerRecord(init.headers);
      if (init.body instanceof URLSearchParams && !hasHeader(headers, 'content-type')) headers['content-type'] = 'application/x-www-form-urlencoded;charset=UTF-8';
      if (body !== undefined) headers['content-length'] = String(body.byteLength);
      const agent = secure ? (https ??= new HttpsAgent({ keepAlive: true, ...tls })) : (http ??= new HttpAgent({ keepAlive: true }));
      const options: RequestOptions = { method: init.method ?? 'GET', headers, agent };
      return send(target, secure, options, body, init.signal ?? undefined);
    },
    close() {
      http?.destroy();
      https?.destroy();
      http = https = undefined;
    },
  };
}

function send(target: URL, secure: boolean, options: RequestOptions, body: Uint8Array | undefined, signal: AbortSignal | undefined): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const req = (secure ? httpsRequest : httpRequest)(target, options);
    const onAbort = () => {
      req.destroy(signal!.reason instanceof Error ? signal!.reason : undefined);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => signal?.removeEventListener('abort', onAbort);
    // As undici's fetch does: a network failure is a TypeError('fetch failed') whose cause is the system error.
    req.once('error', (error) => {
      done();
      reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: error }));
    });
    req.once('response', (res: IncomingMessage) => {
      res.once('end', done);
      res.once('close', done);
      resolve(toResponse(res));
    });
    req.end(body);
  });
}

function toResponse(res: IncomingMessage): Response {
  const headers = new Headers();
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  const status = res.statusCode ?? 500;
  if (NULL_BODY.has(status)) {
    res.resume();
    return new Response(null, { status, statusText: res.statusMessage, headers });
  }
  // A compressed reply is decoded as fetch decodes it (some IdPs and proxies gzip whatever the request asked);
  // the bounded reader then counts decoded bytes, so a decompression bomb stops at maxResponseBytes too.
  const decoder = decoderFor(headers.get('content-encoding'));
  let stream: Readable = res;
  if (decoder !== undefined) {
    stream = res.pipe(decoder);
    res.once('error', (error) => decoder.destroy(error));
    // Cancelling the decoded stream (a reply over maxResponseBytes) must still close the socket.
    decoder.once('close', () => res.destroy());
    headers.delete('content-encoding');
    headers.delete('content-length');
  }
  // A web stream over the reply: cancelling it (a reply over maxResponseBytes) destroys the socket.
  return new Response(Readable.toWeb(stream) as ReadableStream<Uint8Array>, { status, statusText: res.statusMessage, headers });
}

/** The decoder of a `Content-Encoding` fetch would decode (gzip, deflate, br); undefined for identity or an unknown one. */
function decoderFor(encoding: string | null): Transform | undefined {
  switch (encoding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return undefined;
  }
}

/** The body as bytes; undefined for none; false for a kind this transport leaves to the general one (a stream, a Blob, FormData). */
function bodyBytes(body: RequestInit['body']): Uint8Array | undefined | false {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof URLSearchParams) return Buffer.from(body.toString());
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  return false;
}

function headerRecord(headers: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === undefined || headers === null) return out;
  if (headers instanceof Headers) headers.forEach((value, name) => (out[name] = value));
  else if (Array.isArray(headers)) for (const [name, value] of headers) out[name!.toLowerCase()] = value!;
  else for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  return out;
}

const hasHeader = (headers: Record<string, string>, name: string): boolean => Object.prototype.hasOwnProperty.call(headers, name);
