/**
 * A bare node:http server on loopback for replies no real IdP sends on purpose: HTML, truncated JSON,
 * a bad `expires_in`, a 429 with `Retry-After`, a 5xx, or no reply at all.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RawRequest {
  method: string;
  headers: IncomingMessage['headers'];
  /** The body parsed as a form. */
  body: URLSearchParams;
  /** The body as sent. */
  text: string;
}

export interface RawServer {
  url: string;
  readonly requests: RawRequest[];
  /** Resolves when the next request has arrived (its body read). */
  nextRequest(): Promise<RawRequest>;
  /** Resolves when a client closes a connection the server never answered. */
  nextAbandoned(): Promise<void>;
  close(): Promise<void>;
}

/** `reply` answers each request; when it returns without ending the response, the request hangs. */
export async function startRawServer(reply: (res: ServerResponse, req: RawRequest) => void): Promise<RawServer> {
  const requests: RawRequest[] = [];
  const waiting: ((r: RawRequest) => void)[] = [];
  const abandoned: (() => void)[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const raw = { method: req.method ?? '', headers: req.headers, body: new URLSearchParams(body), text: body };
      requests.push(raw);
      for (const w of waiting.splice(0)) w(raw);
      res.on('close', () => {
        if (!res.writableEnded) for (const a of abandoned.splice(0)) a();
      });
      reply(res, raw);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`,
    requests,
    nextRequest: () => new Promise((resolve) => waiting.push(resolve)),
    nextAbandoned: () => new Promise((resolve) => abandoned.push(resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Sends `body` as JSON with `status`. */
export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}
