import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createDirectHttp, type DirectHttp } from './direct-http.js';

let server: Server | undefined;
let direct: DirectHttp | undefined;
afterEach(async () => {
  direct?.close();
  direct = undefined;
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

interface Seen {
  method?: string;
  headers: IncomingMessage['headers'];
  body: string;
  socket: Socket;
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse, seen: Seen) => void): Promise<{ url: string; seen: Seen[]; sockets: Set<Socket> }> {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: Seen = { method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString(), socket: req.socket };
      seen.push(s);
      handler(req, res, s);
    });
  });
  server.on('connection', (socket: Socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, seen, sockets };
}

describe('createDirectHttp', () => {
  it('sends a form POST with its headers and length, and answers a WHATWG Response with status, headers and body', async () => {
    const { url, seen } = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-reply': 'yes' });
      res.end('{"access_token":"t"}');
    });
    direct = createDirectHttp();
    const res = await direct.fetch(`${url}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials' }), headers: new Headers({ Accept: 'application/json' }) })!;
    expect(res).toBeInstanceOf(Response);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-reply')).toBe('yes');
    expect(await res.json()).toEqual({ access_token: 't' });
    expect(seen[0]).toMatchObject({ method: 'POST', body: 'grant_type=client_credentials' });
    expect(seen[0]!.headers).toMatchObject({ 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8', 'content-length': '29', accept: 'application/json' });
  });

  it('keeps the connection alive between requests, and close() ends it', async () => {
    const { url, sockets } = await listen((_req, res) => res.end('ok'));
    direct = createDirectHttp();
    for (let i = 0; i < 3; i++) expect(await (await direct.fetch(url, { method: 'GET' }))!.text()).toBe('ok');
    expect(sockets.size).toBe(1);
    const [socket] = [...sockets];
    const closed = new Promise((resolve) => socket!.once('close', resolve));
    direct.close();
    await closed;
  });

  it('a network failure is a TypeError("fetch failed") whose cause carries the system code, as undici fetch rejects', async () => {
    const { url } = await listen(() => undefined);
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    direct = createDirectHttp();
    const error = (await direct.fetch(url, { method: 'GET' })!.catch((e: unknown) => e)) as TypeError & { cause: { code: string } };
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('fetch failed');
    expect(error.cause.code).toBe('ECONNREFUSED');
  });

  it('an abort rejects with the signal reason and drops the connection, before or while waiting for the reply', async () => {
    const { url, sockets } = await listen(() => undefined); // never answers
    direct = createDirectHttp();
    const before = new AbortController();
    const reason = new Error('stop');
    before.abort(reason);
    await expect(direct.fetch(url, { method: 'GET', signal: before.signal })).rejects.toBe(reason);

    const during = new AbortController();
    const pending = direct.fetch(url, { method: 'GET', signal: during.signal })!;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sockets.size).toBe(1);
    const closed = new Promise((resolve) => [...sockets][0]!.once('close', resolve));
    during.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await closed;
  });

  it('cancelling the body (a reply too large) destroys the connection', async () => {
    const { url, sockets } = await listen((_req, res) => {
      res.writeHead(200);
      res.write(Buffer.alloc(64 * 1024));
      // never ends
    });
    direct = createDirectHttp();
    const res = (await direct.fetch(url, { method: 'GET' }))!;
    const reader = res.body!.getReader();
    await reader.read();
    const closed = new Promise((resolve) => [...sockets][0]!.once('close', resolve));
    await reader.cancel();
    await closed;
  });

  it('a reply without a body (204) has a null body; non-http URLs and stream bodies are left to the general transport', async () => {
    const { url } = await listen((_req, res) => {
      res.writeHead(204);
      res.end();
    });
    direct = createDirectHttp();
    const res = (await direct.fetch(url, { method: 'POST', body: 'x' }))!;
    expect(res.status).toBe(204);
    expect(res.body).toBeNull();
    expect(direct.fetch('ftp://127.0.0.1/x', {})).toBeUndefined();
    expect(direct.fetch(url, { method: 'POST', body: new ReadableStream() })).toBeUndefined();
  });
});
