/**
 * The demo's identity provider on loopback: a real OAuth 2 server (oauth2-mock-server, RS256 JWTs, JWKS)
 * with short-lived tokens, checked client secrets, refresh-token rotation, a ProjectX-style API-key login,
 * user sign-in and RFC 8693 token exchange (on-behalf-of), and a count of every token it hands out, per grant
 * and client.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { OAuth2Issuer, OAuth2Service } from 'oauth2-mock-server';
import { listen, readJson, sendJson, shutdown } from './http-util.js';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

export interface DemoIdpClient {
  secret: string;
  /** `aud` of its client-credentials tokens when the request names none. */
  audience?: string;
}

export interface DemoIdpOptions {
  /** Default 0 (any free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Lifetime of every token issued, in seconds. */
  ttlSeconds: number;
  /** OAuth clients (id -> secret) whose secrets are checked; other ids are refused. */
  clients: Record<string, DemoIdpClient>;
  /** API-key users of the ProjectX-style login (userName -> apiKey). */
  apiUsers: Record<string, string>;
  /** People who sign in (user -> password) at `POST /demo/user-token`. Default none. */
  users?: Record<string, string>;
  /** `aud` of user tokens: the client the users sign in to, the only one that may exchange them. */
  userTokenAudience?: string;
}

/** One line of the IdP's ledger: how many tokens a grant gave a client. */
export interface DemoIdpCount {
  grant: string;
  client: string;
  count: number;
}

export interface DemoIdpStats {
  /** Token requests served, any outcome. */
  total: number;
  /** Requests refused (bad secret, unknown or rotated-away refresh token, bad API key). */
  refused: number;
  counts: DemoIdpCount[];
}

interface RefreshRecord {
  clientId: string;
  subject: string;
  scope: string;
}

type TokenRequestMessage = IncomingMessage & { body: Record<string, unknown> };
type MutableToken = { header: Record<string, unknown>; payload: Record<string, unknown> };
type MutableResponse = { statusCode: number; body: Record<string, unknown> | '' };

export class DemoIdp {
  /** Every token carries `seq`, a number that grows with each token issued: the resource API revokes by it. */
  private seq = 0;
  private readonly ledger = new Map<string, DemoIdpCount>();
  private total = 0;
  private refused = 0;
  private readonly refreshTokens = new Map<string, RefreshRecord>();
  /** Requests whose refresh token was unknown, flagged between signing and responding. */
  private readonly badRefresh = new WeakSet<IncomingMessage>();
  /** The `exp` (epoch s) signed into each request's access token, so `expires_in` can match it. */
  private readonly expOf = new WeakMap<IncomingMessage, number>();

  private constructor(
    private readonly server: Server,
    private readonly issuer: OAuth2Issuer,
    readonly url: string,
    private readonly options: DemoIdpOptions,
    public ttlSeconds: number,
  ) {}

  static async start(options: DemoIdpOptions): Promise<DemoIdp> {
    const issuer = new OAuth2Issuer();
    await issuer.keys.generate('RS256');
    const service = new OAuth2Service(issuer);
    let idp: DemoIdp | undefined;
    const server = createServer((req, res) => {
      if (req.method === 'POST' && req.url === '/demo/refresh-tokens') {
        void idp!.handleGrantRefreshToken(req).then(([status, body]) => sendJson(res, status, body));
        return;
      }
      if (req.method === 'GET' && req.url === '/demo/info') {
        sendJson(res, 200, { ttlSeconds: idp!.ttlSeconds });
        return;
      }
      if (req.method === 'POST' && req.url === '/demo/user-token') {
        void idp!.handleUserSignIn(req).then(([status, body]) => {
          if (typeof body === 'string') {
            res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
            res.end(body);
          } else sendJson(res, status, body);
        });
        return;
      }
      if (req.method === 'POST' && req.url === '/token') {
        // One token endpoint for every grant, as real IdPs have: token exchange is served here, the rest by
        // oauth2-mock-server, which is handed the form already read (body-parser skips a finished request).
        void readForm(req).then((form) => {
          if (form.get('grant_type') === TOKEN_EXCHANGE_GRANT) {
            void idp!.handleTokenExchange(req, form).then(([status, body]) => sendJson(res, status, body));
            return;
          }
          (req as IncomingMessage & { body?: unknown }).body = Object.fromEntries(form);
          service.requestHandler(req, res);
        });
        return;
      }
      service.requestHandler(req, res);
    });
    server.keepAliveTimeout = 5_000;
    const port = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
    const url = `http://${options.host ?? '127.0.0.1'}:${port}`;
    issuer.url = url;
    idp = new DemoIdp(server, issuer, url, options, options.ttlSeconds);
    idp.hook(service);
    return idp;
  }

  get tokenUrl(): string {
    return `${this.url}/token`;
  }

  get jwksUrl(): string {
    return `${this.url}/jwks`;
  }

  /** The `seq` of the latest token issued. */
  get lastSeq(): number {
    return this.seq;
  }

  /**
   * A refresh token for `subject`, as the one-time authorization-code login of a music app would leave
   * behind. Rotated on every use: only the newest one of a chain works.
   */
  issueRefreshToken(clientId: string, subject: string, scope = 'user-read-playback-state'): string {
    const token = `rt_${randomBytes(24).toString('base64url')}`;
    this.refreshTokens.set(token, { clientId, subject, scope });
    return token;
  }

  /** The ProjectX-style login: an API key for a JWT whose `aud` is the API URL it logged in to. */
  async loginWithApiKey(userName: string, apiKey: string, apiUrl: string): Promise<string | undefined> {
    this.total++;
    const expected = this.options.apiUsers[userName];
    if (expected === undefined || !safeEqual(expected, apiKey)) {
      this.refused++;
      return undefined;
    }
    this.count('api_key_login', userName);
    return this.issuer.buildToken({
      expiresIn: this.ttlSeconds,
      scopesOrTransform: (_header, payload) => {
        Object.assign(payload, { sub: userName, aud: apiUrl, jti: randomUUID(), seq: ++this.seq });
      },
    });
  }

  stats(): DemoIdpStats {
    return {
      total: this.total,
      refused: this.refused,
      counts: [...this.ledger.values()].map((c) => ({ ...c })).sort((a, b) => a.grant.localeCompare(b.grant) || a.client.localeCompare(b.client)),
    };
  }

  /** Tokens issued to one client (any grant). */
  countFor(client: string): number {
    let n = 0;
    for (const c of this.ledger.values()) if (c.client === client) n += c.count;
    return n;
  }

  async close(): Promise<void> {
    await shutdown(this.server);
  }

  private hook(service: OAuth2Service): void {
    service.on('beforeTokenSigning', (token: MutableToken, req: TokenRequestMessage) => {
      const body = req.body ?? {};
      const exp = Math.floor(Date.now() / 1000) + this.ttlSeconds;
      token.payload.exp = exp;
      // The id_token is signed after the access token; expires_in describes the access token's exp.
      if (!this.expOf.has(req)) this.expOf.set(req, exp);
      token.payload.jti = randomUUID();
      token.payload.seq = ++this.seq;
      const clientId = clientIdOf(req);
      if (body.grant_type === 'client_credentials') {
        token.payload.sub = clientId;
        const audience = typeof body.audience === 'string' ? body.audience : this.options.clients[clientId ?? '']?.audience;
        if (audience !== undefined) token.payload.aud = audience;
        else delete token.payload.aud;
      } else if (body.grant_type === 'refresh_token') {
        const record = this.refreshTokens.get(String(body.refresh_token));
        if (record === undefined || record.clientId !== clientId) {
          this.badRefresh.add(req);
          return;
        }
        token.payload.sub = record.subject;
        token.payload.scope = record.scope;
        token.payload.aud = clientId;
      }
    });

    service.on('beforeResponse', (response: MutableResponse, req: TokenRequestMessage) => {
      this.total++;
      const body = req.body ?? {};
      const grant = String(body.grant_type);
      const clientId = clientIdOf(req);
      const refuse = (status: number, error: string, description: string) => {
        this.refused++;
        response.statusCode = status;
        response.body = { error, error_description: description };
      };
      const client = clientId === undefined ? undefined : this.options.clients[clientId];
      if (client === undefined || !safeEqual(client.secret, clientSecretOf(req) ?? '')) {
        return refuse(401, 'invalid_client', 'unknown client or wrong secret');
      }
      if (grant !== 'client_credentials' && grant !== 'refresh_token') {
        return refuse(400, 'unsupported_grant_type', 'this IdP serves client_credentials and refresh_token');
      }
      if (typeof response.body !== 'object') return;
      // Whole seconds left until the JWT's exp, rounded down: the cache never trusts a token past its exp.
      const exp = this.expOf.get(req) ?? Math.floor(Date.now() / 1000) + this.ttlSeconds;
      response.body.expires_in = Math.max(1, exp - Math.ceil(Date.now() / 1000));
      delete response.body.id_token;
      if (grant === 'refresh_token') {
        const old = String(body.refresh_token);
        const record = this.refreshTokens.get(old);
        if (this.badRefresh.has(req) || record === undefined) {
          return refuse(400, 'invalid_grant', 'refresh token unknown, revoked or already rotated');
        }
        // Rotation: the old refresh token is spent, the reply carries its successor.
        this.refreshTokens.delete(old);
        response.body.refresh_token = this.issueRefreshToken(record.clientId, record.subject, record.scope);
        response.body.scope = record.scope;
      }
      this.count(grant, clientId!);
    });
  }

  /** `POST /demo/refresh-tokens {client_id, client_secret, subject}`: seeds a refresh-token chain over HTTP. */
  private async handleGrantRefreshToken(req: IncomingMessage): Promise<[number, unknown]> {
    const body = await readJson(req);
    const clientId = String(body.client_id ?? '');
    const client = this.options.clients[clientId];
    if (client === undefined || !safeEqual(client.secret, String(body.client_secret ?? ''))) {
      return [401, { error: 'invalid_client' }];
    }
    return [200, { refresh_token: this.issueRefreshToken(clientId, String(body.subject ?? 'listener')) }];
  }

  /**
   * `POST /demo/user-token` with HTTP Basic `user:password`: signs a user in, as the demo app's login page
   * would, and answers the user's access token as plain text (`aud` = the demo app, `scope` orders:read),
   * so `curl -H "Authorization: Bearer $(curl -s -u alice:… -X POST …)"` works as printed.
   */
  private async handleUserSignIn(req: IncomingMessage): Promise<[number, unknown]> {
    for await (const _chunk of req); // a body, if any, is not used
    this.total++;
    const [user, password] = basic(req) ?? [];
    const expected = user === undefined ? undefined : this.options.users?.[user];
    if (expected === undefined || !safeEqual(expected, password ?? '')) {
      this.refused++;
      return [401, { error: 'invalid_user', error_description: 'unknown user or wrong password (HTTP Basic user:password)' }];
    }
    this.count('user_sign_in', user!);
    const token = await this.issuer.buildToken({
      expiresIn: this.ttlSeconds,
      scopesOrTransform: (_header, payload) => {
        Object.assign(payload, {
          sub: user,
          aud: this.options.userTokenAudience ?? 'demo-app',
          scope: 'openid orders:read',
          exp: Math.floor(Date.now() / 1000) + this.ttlSeconds,
          jti: randomUUID(),
          seq: ++this.seq,
        });
      },
    });
    return [200, token];
  }

  /**
   * RFC 8693 token exchange at `/token`: a configured client (HTTP Basic or form secret) exchanges a user
   * token this IdP issued to it (signature, issuer, `aud` = the client, expiry checked) for one with the
   * requested `audience` (default: the client's), the same `sub`, and `act.sub` naming the acting client.
   */
  async handleTokenExchange(req: IncomingMessage, form: URLSearchParams): Promise<[number, unknown]> {
    this.total++;
    const refuse = (status: number, error: string, description: string): [number, unknown] => {
      this.refused++;
      return [status, { error, error_description: description }];
    };
    const [clientId, secret] = basic(req) ?? [form.get('client_id') ?? undefined, form.get('client_secret') ?? undefined];
    const client = clientId === undefined ? undefined : this.options.clients[clientId];
    if (client === undefined || !safeEqual(client.secret, secret ?? '')) return refuse(401, 'invalid_client', 'unknown client or wrong secret');
    const subjectToken = form.get('subject_token');
    const subjectTokenType = form.get('subject_token_type');
    if (!subjectToken || (subjectTokenType !== ACCESS_TOKEN_TYPE && subjectTokenType !== JWT_TOKEN_TYPE)) {
      return refuse(400, 'invalid_request', 'subject_token and subject_token_type (access_token or jwt) are required');
    }
    let sub: string | undefined;
    try {
      const jwks = createLocalJWKSet({ keys: this.issuer.keys.toJSON() as never });
      ({ payload: { sub } } = await jwtVerify(subjectToken, jwks, { issuer: this.url, audience: clientId }));
    } catch {
      return refuse(400, 'invalid_grant', `subject_token is not a valid, unexpired token of this IdP issued to ${clientId}`);
    }
    const audience = form.get('audience') ?? client.audience;
    const scope = form.get('scope') ?? undefined;
    const exp = Math.floor(Date.now() / 1000) + this.ttlSeconds;
    const token = await this.issuer.buildToken({
      expiresIn: this.ttlSeconds,
      scopesOrTransform: (_header, payload) => {
        Object.assign(payload, { sub, aud: audience, scope, act: { sub: clientId }, exp, jti: randomUUID(), seq: ++this.seq });
      },
    });
    this.count('token_exchange', String(sub));
    return [
      200,
      {
        access_token: token,
        issued_token_type: ACCESS_TOKEN_TYPE,
        token_type: 'Bearer',
        expires_in: Math.max(1, exp - Math.ceil(Date.now() / 1000)),
        ...(scope !== undefined && { scope }),
      },
    ];
  }

  private count(grant: string, client: string): void {
    const key = `${grant}\u0000${client}`;
    const entry = this.ledger.get(key);
    if (entry) entry.count++;
    else this.ledger.set(key, { grant, client, count: 1 });
  }
}

function basic(req: IncomingMessage): [string, string] | undefined {
  const header = req.headers.authorization;
  if (header === undefined || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  // RFC 6749 2.3.1: both parts are form-urlencoded before base64.
  return [decodeURIComponent(decoded.slice(0, i).replace(/\+/g, ' ')), decodeURIComponent(decoded.slice(i + 1).replace(/\+/g, ' '))];
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let raw = '';
  for await (const chunk of req) raw += String(chunk);
  return new URLSearchParams(raw);
}

function clientIdOf(req: TokenRequestMessage): string | undefined {
  return basic(req)?.[0] ?? (typeof req.body?.client_id === 'string' ? req.body.client_id : undefined);
}

function clientSecretOf(req: TokenRequestMessage): string | undefined {
  return basic(req)?.[1] ?? (typeof req.body?.client_secret === 'string' ? req.body.client_secret : undefined);
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
