/**
 * The demo's protected resource API on loopback: the "other services" the demo app calls. It accepts only
 * JWTs the demo IdP signed (checked against its JWKS), unexpired, unrevoked, and meant for the route
 * (`aud`). Anything else gets 401 with `WWW-Authenticate: Bearer error="invalid_token"`, which is what
 * makes the token cache's interceptor invalidate, refetch and retry.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { DemoIdp } from './demo-idp.js';
import { listen, readJson, sendJson, shutdown } from './http-util.js';

export interface ResourceApiOptions {
  /** Default 0 (any free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Logins of the trading venues are served here and signed by this IdP. */
  idp: DemoIdp;
  /** The time tokens are checked against (epoch ms); tests move it instead of sleeping. Default `Date.now`. */
  now?: () => number;
}

export interface ResourceApiStats {
  requests: number;
  /** Answers 401: missing, bad, expired, revoked or misdirected tokens. */
  rejected: number;
  /** Tokens with a `seq` below this are revoked. */
  revokedBeforeSeq: number;
}

/** The trading venues: one "API URL" each, `${apiUrl}/projectx/<venue>`, like ProjectX's per-firm gateways. */
export const TRADING_VENUES = ['topstep', 'alphaticks'] as const;

const TRACKS = [
  { artist: 'Nils Frahm', title: 'Says' },
  { artist: 'Khruangbin', title: 'Maria También' },
  { artist: 'Bonobo', title: 'Kerala' },
  { artist: 'Floating Points', title: 'Silhouettes' },
];

export class ResourceApi {
  private requests = 0;
  private rejected = 0;
  private revokedBeforeSeq = 0;
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly idp: DemoIdp,
    private readonly now: () => number,
  ) {
    this.jwks = createRemoteJWKSet(new URL(idp.jwksUrl));
  }

  static async start(options: ResourceApiOptions): Promise<ResourceApi> {
    let api: ResourceApi | undefined;
    const server = createServer((req, res) => {
      api!.handle(req, res).catch((error: Error) => sendJson(res, 500, { error: 'server_error', message: error.message }));
    });
    server.keepAliveTimeout = 5_000;
    const host = options.host ?? '127.0.0.1';
    const port = await listen(server, options.port ?? 0, host);
    api = new ResourceApi(server, `http://${host}:${port}`, options.idp, options.now ?? Date.now);
    return api;
  }

  /** Revokes every token issued so far, or those with `seq < beforeSeq`. Returns the cut-off. */
  revoke(beforeSeq = this.idp.lastSeq + 1): number {
    this.revokedBeforeSeq = Math.max(this.revokedBeforeSeq, beforeSeq);
    return this.revokedBeforeSeq;
  }

  stats(): ResourceApiStats {
    return { requests: this.requests, rejected: this.rejected, revokedBeforeSeq: this.revokedBeforeSeq };
  }

  async close(): Promise<void> {
    await shutdown(this.server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', this.url).pathname;
    const method = req.method ?? 'GET';
    // The dashboard's polling of /admin/stats is not traffic worth counting.
    if (!path.startsWith('/admin/')) this.requests++;

    if (method === 'POST' && path === '/admin/revoke') {
      const body = await readJson(req);
      const beforeSeq = typeof body.beforeSeq === 'number' ? body.beforeSeq : undefined;
      return sendJson(res, 200, { revokedBeforeSeq: this.revoke(beforeSeq) });
    }
    if (method === 'GET' && path === '/admin/stats') return sendJson(res, 200, { ...this.stats(), idp: this.idp.stats() });

    const venue = /^\/projectx\/([a-z]+)(\/.*)$/.exec(path);
    if (venue && TRADING_VENUES.includes(venue[1] as (typeof TRADING_VENUES)[number])) {
      const apiUrl = `${this.url}/projectx/${venue[1]}`;
      if (method === 'POST' && venue[2] === '/api/Auth/loginKey') {
        const body = await readJson(req);
        const token = await this.idp.loginWithApiKey(String(body.userName ?? ''), String(body.apiKey ?? ''), apiUrl);
        // ProjectX answers 200 with success: false for a bad key.
        return sendJson(res, 200, token ? { token, success: true, errorCode: 0, errorMessage: null } : { token: null, success: false, errorCode: 3, errorMessage: 'invalid credentials' });
      }
      if (method === 'POST' && venue[2] === '/api/Account/search') {
        const claims = await this.authorize(req, res, apiUrl);
        if (!claims) return;
        return sendJson(res, 200, {
          accounts: [{ id: accountId(`${venue[1]}:${claims.sub}`), name: `${String(claims.sub).toUpperCase()}-${venue[1].toUpperCase()}-50K`, balance: 50_000, canTrade: true }],
          success: true,
          errorCode: 0,
          errorMessage: null,
        });
      }
    }
    if (method === 'GET' && path === '/music/v1/me/player/currently-playing') {
      const claims = await this.authorize(req, res, 'music-app');
      if (!claims) return;
      const track = TRACKS[Math.floor(Date.now() / 15_000) % TRACKS.length];
      return sendJson(res, 200, { is_playing: true, listener: claims.sub, item: track });
    }
    if (method === 'GET' && path === '/gateway/orders') {
      const claims = await this.authorize(req, res, 'orders-api');
      if (!claims) return;
      return sendJson(res, 200, { orders: [{ id: 'ord-1001', status: 'shipped' }, { id: 'ord-1002', status: 'packing' }], client: claims.sub });
    }
    if (method === 'GET' && path === '/gateway/orders/mine') {
      // On-behalf-of: a token exchanged for a user's own (RFC 8693) has the user as `sub` and the service
      // acting for them in `act`; a service's own client-credentials token is not a user's and gets 403.
      const claims = await this.authorize(req, res, 'orders-api');
      if (!claims) return;
      const actor = (claims.act as { sub?: unknown } | undefined)?.sub;
      if (typeof actor !== 'string') return sendJson(res, 403, { error: 'insufficient_scope', error_description: 'a user token exchanged on behalf of the user (with act) is required' });
      const user = String(claims.sub);
      return sendJson(res, 200, { user, actingClient: actor, orders: [{ id: `ord-${accountId(user) % 10_000}`, status: 'shipped', for: user }] });
    }
    if (method === 'GET' && path === '/gateway/inventory') {
      const claims = await this.authorize(req, res, 'orders-api');
      if (!claims) return;
      return sendJson(res, 200, { items: [{ sku: 'TC-001', stock: 42 }, { sku: 'TC-002', stock: 7 }], client: claims.sub });
    }
    const files = /^\/warehouse\/([a-z]+)$/.exec(path);
    if (method === 'GET' && files) {
      const claims = await this.authorize(req, res, 'warehouse-api');
      if (!claims) return;
      return sendJson(res, 200, { report: files[1], rows: 3, client: claims.sub });
    }
    if (method === 'GET' && path === '/') {
      // What the start banner's "Resource API" link shows: the routes, and that each wants a bearer token.
      return sendJson(res, 200, {
        name: 'nestjs-token-cache demo resource API',
        auth: 'Authorization: Bearer <JWT of the demo IdP>; anything else gets 401 with WWW-Authenticate: Bearer error="invalid_token"',
        routes: [
          'GET /gateway/orders',
          'GET /gateway/orders/mine (a token exchanged on behalf of a user)',
          'GET /gateway/inventory',
          'GET /music/v1/me/player/currently-playing',
          'GET /warehouse/<report>',
          ...TRADING_VENUES.flatMap((v) => [`POST /projectx/${v}/api/Auth/loginKey`, `POST /projectx/${v}/api/Account/search`]),
        ],
        stats: this.stats(),
      });
    }
    sendJson(res, 404, { error: 'not_found' });
  }

  /** The token's claims when it may call a route for `audience`; otherwise answers 401 and returns undefined. */
  private async authorize(req: IncomingMessage, res: ServerResponse, audience: string): Promise<JWTPayload | undefined> {
    const match = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '');
    if (!match) return this.reject(res, 'missing bearer token');
    try {
      const { payload } = await jwtVerify(match[1], this.jwks, { issuer: this.idp.url, audience, currentDate: new Date(this.now()) });
      if (typeof payload.seq !== 'number' || payload.seq < this.revokedBeforeSeq) return this.reject(res, 'token revoked');
      return payload;
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) return this.reject(res, 'token expired');
      if (error instanceof joseErrors.JWTClaimValidationFailed) return this.reject(res, `token not valid for this API (${error.claim})`);
      return this.reject(res, 'token signature or format invalid');
    }
  }

  private reject(res: ServerResponse, description: string): undefined {
    this.rejected++;
    sendJson(res, 401, { error: 'invalid_token', error_description: description }, { 'www-authenticate': `Bearer error="invalid_token", error_description="${description}"` });
    return undefined;
  }
}

function accountId(seed: string): number {
  let h = 7;
  for (const c of seed) h = (h * 31 + c.charCodeAt(0)) % 900_000;
  return 100_000 + h;
}
