/**
 * The demo's identity provider on loopback: a real OAuth 2 server (oauth2-mock-server, RS256 JWTs, JWKS)
 * with short-lived tokens, checked client secrets, refresh-token rotation, a ProjectX-style API-key login,
 * and a count of every token it hands out, per grant and client.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { OAuth2Issuer, OAuth2Service } from 'oauth2-mock-server';
import { listen, readJson, sendJson, shutdown } from './http-util.js';

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
