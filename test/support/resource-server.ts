/**
 * A real protected API on loopback for the interceptor tests: accepts only unrevoked tokens the mock IdP
 * issued (`idp.verify`), answers 401 with `WWW-Authenticate: Bearer error="invalid_token"` otherwise, and
 * records every request it saw (method, URL, headers, body, token) to assert on.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { distinctTokensWithAudience } from './idp-token-function.js';
import { startMockIdp, type MockIdp } from './mock-idp.js';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The exact bytes of the body as they arrived. */
  raw: Buffer;
  /** The raw header lines as they arrived (name, value, name, value…), for byte-exact comparisons. */
  rawHeaders: string[];
  /** The bearer token sent, if any. */
  token?: string;
  accepted: boolean;
}

export interface ResourceServer {
  url: string;
  readonly requests: SeenRequest[];
  /** Tokens rejected from now on. */
  readonly revoked: Set<string>;
  /** Revokes every token seen so far (the IdP rotated its keys, say). */
  revokeAllSeen(): void;
  /** Rejects every token while true. */
  rejectAll: boolean;
  /** Status of the reply to a rejected token. Default 401; 403 tests the `WWW-Authenticate`-only path. */
  rejectStatus: number;
  /** Awaited before each reply is written: lets a test hold replies (a barrier, a late 401). */
  beforeReply?: (seen: SeenRequest) => Promise<void> | void;
  close(): Promise<void>;
}

export async function startResourceServer(idp: MockIdp): Promise<ResourceServer> {
  const requests: SeenRequest[] = [];
  const revoked = new Set<string>();
  const rs: ResourceServer = {
    url: '',
    requests,
    revoked,
    revokeAllSeen() {
      for (const r of requests) if (r.token) revoked.add(r.token);
    },
    rejectAll: false,
    rejectStatus: 401,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length) : undefined;
    const seen: SeenRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      raw: Buffer.concat(chunks),
      rawHeaders: req.rawHeaders,
      ...(token !== undefined && { token }),
      accepted: false,
    };
    requests.push(seen);
    // Held replies are judged when released: a token revoked meanwhile gets a late 401.
    await rs.beforeReply?.(seen);
    let claims: Record<string, unknown> | undefined;
    if (token !== undefined && !rs.rejectAll && !revoked.has(token)) {
      claims = await idp.verify(token).catch(() => undefined);
    }
    seen.accepted = claims !== undefined;
    if (claims === undefined) {
      // RFC 6750 §3.1: no credentials -> a bare challenge; a bad token -> invalid_token.
      res.writeHead(token === undefined ? 401 : rs.rejectStatus, {
        'content-type': 'application/json',
        'www-authenticate': token === undefined ? 'Bearer realm="test"' : 'Bearer realm="test", error="invalid_token"',
      });
      res.end(JSON.stringify({ error: token === undefined ? 'unauthorized' : 'invalid_token' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, method: seen.method, url: seen.url, body: seen.body, sub: claims.sub, scope: claims.scope, aud: claims.aud }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  rs.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return rs;
}

/**
 * The loopback world of the HTTP client specs (axios retry, tokenFetch): a mock IdP issuing a distinct token per
 * request (and per audience), and this resource server accepting only those.
 */
export async function startIdpAndResourceServer(): Promise<{ idp: MockIdp; api: ResourceServer }> {
  const idp = await startMockIdp();
  distinctTokensWithAudience(idp);
  return { idp, api: await startResourceServer(idp) };
}

/** Puts both back as they started, between tests: no recorded requests, nothing revoked or failing. */
export function resetIdpAndResourceServer(idp: MockIdp, api: ResourceServer): void {
  api.requests.length = 0;
  api.revoked.clear();
  api.rejectAll = false;
  api.rejectStatus = 401;
  api.beforeReply = undefined;
  idp.failWith = undefined;
  idp.requests.length = 0;
}

export async function closeIdpAndResourceServer(idp: MockIdp | undefined, api: ResourceServer | undefined): Promise<void> {
  await api?.close();
  await idp?.close();
}

/** The header lines as sent, minus the ones a retry may change (Authorization, and those in `except`). */
export function headerLines(seen: SeenRequest, except: string[] = []): string[] {
  const skip = new Set(['authorization', ...except]);
  const lines: string[] = [];
  for (let i = 0; i < seen.rawHeaders.length; i += 2) {
    if (!skip.has(seen.rawHeaders[i]!.toLowerCase())) lines.push(`${seen.rawHeaders[i]}: ${seen.rawHeaders[i + 1]}`);
  }
  return lines;
}

/**
 * Two attempts at `path`: the first rejected, the retry accepted with another token, the same header lines but
 * those in `except` (and Authorization), and, with nothing excepted, the same body bytes.
 */
export function expectRetriedOnce(api: ResourceServer, path: string, except: string[] = []): [SeenRequest, SeenRequest] {
  const attempts = api.requests.filter((r) => r.url === path);
  expect(attempts.map((a) => a.accepted)).toEqual([false, true]);
  const [first, retry] = attempts as [SeenRequest, SeenRequest];
  expect(retry.token).not.toBe(first.token);
  expect(headerLines(retry, except)).toEqual(headerLines(first, except));
  if (except.length === 0) expect(retry.raw.equals(first.raw)).toBe(true);
  return [first, retry];
}
