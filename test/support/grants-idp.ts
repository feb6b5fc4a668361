/**
 * A loopback authorization server for the enterprise grants, checking what it is sent as a real IdP would
 * (signatures with jose, `aud`, `exp`, client secrets, client certificates): discovery (OIDC and/or RFC 8414,
 * with `mtls_endpoint_aliases`), client_credentials, RFC 8693 token exchange, RFC 7523 JWT bearer, client
 * authentication by secret, by a federated client assertion (a Kubernetes service-account token, checked
 * against the "cluster" key as Entra / Google workload identity federation do) and by TLS client certificate.
 * Over plain HTTP, or HTTPS asking for a client certificate.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { generateKeyPair, jwtVerify, SignJWT, type JWTPayload } from 'jose';

export const CLIENT_SECRET = 'obo:se%cr+et &=';
export const FEDERATED_SUBJECT = 'system:serviceaccount:payments:worker';
export const WIF_AUDIENCE = 'api://AzureADTokenExchange';
export const CLUSTER_ISSUER = 'https://kubernetes.default.svc.cluster.local';

export interface GrantsIdpRequest {
  path: string;
  grantType: string;
  form: Record<string, string>;
  authorization?: string;
  /** The CN of the client certificate presented (HTTPS only). */
  clientCertificate?: string;
}

export interface GrantsIdpOptions {
  /** Which discovery documents are served. Default 'both'. */
  discovery?: 'both' | 'oidc' | 'oauth2' | 'none';
  /** HTTPS with this server key/cert; `ca` verifies client certificates (requested, not required). */
  tls?: { key: string; cert: string; ca: string };
  /** Served as `mtls_endpoint_aliases.token_endpoint` (its path on this server). */
  mtlsAliasPath?: string;
  /** Path prefix of the issuer (e.g. '/realms/demo'). Default ''. */
  issuerPath?: string;
  /** The `issuer` the documents claim, when it should not be the real one (a misrouted or spoofed document). */
  advertisedIssuer?: string;
}

export interface GrantsIdp {
  issuer: string;
  tokenUrl: string;
  readonly requests: GrantsIdpRequest[];
  readonly discoveryRequests: string[];
  /** `expires_in` of issued tokens (s). Default 600. */
  expiresIn: number;
  /** A user's access token (what an API receives and exchanges), signed by the IdP, `exp` in `expSeconds`. */
  userToken(sub: string, expSeconds?: number): Promise<string>;
  /** A projected service-account token, signed by the cluster key. */
  clusterToken(options?: { sub?: string; aud?: string; expSeconds?: number }): Promise<string>;
  /** Verifies a token this IdP issued; returns its claims. */
  verify(token: string): Promise<JWTPayload>;
  close(): Promise<void>;
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export async function startGrantsIdp(options: GrantsIdpOptions = {}): Promise<GrantsIdp> {
  const idpKey = await generateKeyPair('ES256');
  const clusterKey = await generateKeyPair('ES256');
  const requests: GrantsIdpRequest[] = [];
  const discoveryRequests: string[] = [];
  const discovery = options.discovery ?? 'both';
  const issuerPath = options.issuerPath ?? '';
  let issuer = '';
  let counter = 0;

  const sign = (claims: JWTPayload, expSeconds: number, key = idpKey.privateKey, iss = issuer) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES256' }).setIssuer(iss).setIssuedAt().setExpirationTime(`${expSeconds}s`).sign(key);

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const oauthError = (res: ServerResponse, status: number, error: string, description: string) => json(res, status, { error, error_description: description });

  const metadata = () => ({
    issuer: options.advertisedIssuer ?? issuer,
    token_endpoint: `${issuer}/token`,
    grant_types_supported: ['client_credentials', TOKEN_EXCHANGE, JWT_BEARER],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'private_key_jwt', 'tls_client_auth'],
    ...(options.mtlsAliasPath !== undefined && { mtls_endpoint_aliases: { token_endpoint: `${new URL(issuer).origin}${options.mtlsAliasPath}` } }),
  });

  const handle = async (req: IncomingMessage, res: ServerResponse, body: string) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if (req.method === 'GET') {
      discoveryRequests.push(path);
      const oidc = `${issuerPath}/.well-known/openid-configuration`;
      const oauth2 = `/.well-known/oauth-authorization-server${issuerPath}`;
      if ((path === oidc && (discovery === 'both' || discovery === 'oidc')) || (path === oauth2 && (discovery === 'both' || discovery === 'oauth2'))) {
        return json(res, 200, metadata());
      }
      res.writeHead(404, { 'content-type': 'text/html' });
      return res.end('<h1>Not found</h1>');
    }
    const form = Object.fromEntries(new URLSearchParams(body));
    const socket = req.socket as TLSSocket;
    const peer = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
    const clientCertificate = peer && socket.authorized && typeof peer.subject?.CN === 'string' ? peer.subject.CN : undefined;
    const grantType = form.grant_type ?? '';
    requests.push({ path, grantType, form, authorization: req.headers.authorization, clientCertificate });

    // Client authentication.
    let clientId: string | undefined;
    const basic = req.headers.authorization?.match(/^Basic (.+)$/)?.[1];
    if (basic !== undefined) {
      const [id, secret] = Buffer.from(basic, 'base64').toString().split(':').map((s) => decodeURIComponent(s.replace(/\+/g, '%20')));
      if (secret !== CLIENT_SECRET) return oauthError(res, 401, 'invalid_client', 'client authentication failed');
      clientId = id;
    } else if (form.client_assertion_type !== undefined) {
      if (form.client_assertion_type !== ASSERTION_TYPE) return oauthError(res, 400, 'invalid_request', 'bad client_assertion_type');
      try {
        const { payload } = await jwtVerify(form.client_assertion ?? '', clusterKey.publicKey, { issuer: CLUSTER_ISSUER, audience: WIF_AUDIENCE });
        if (payload.sub !== FEDERATED_SUBJECT) return oauthError(res, 401, 'invalid_client', 'no federated credential matches the assertion subject');
      } catch {
        return oauthError(res, 401, 'invalid_client', 'client assertion rejected');
      }
      clientId = form.client_id;
    } else if (form.client_id !== undefined) {
      // tls_client_auth: the certificate's CN must be the client_id (RFC 8705 §2.1.2, tls_client_auth_subject_dn).
      if (clientCertificate === undefined || clientCertificate !== form.client_id) {
        return oauthError(res, 401, 'invalid_client', 'no valid client certificate for this client');
      }
      clientId = form.client_id;
    } else if (grantType !== JWT_BEARER) {
      return oauthError(res, 401, 'invalid_client', 'client authentication required');
    }

    const expiresIn = idp.expiresIn;
    const issue = async (claims: JWTPayload) => ({
      access_token: await sign({ ...claims, client_id: clientId, jti: `t${++counter}` }, expiresIn),
      token_type: 'Bearer',
      expires_in: expiresIn,
    });
    if (grantType === 'client_credentials') return json(res, 200, await issue({ sub: clientId, aud: form.audience ?? form.resource }));
    if (grantType === TOKEN_EXCHANGE) {
      if (form.subject_token_type !== 'urn:ietf:params:oauth:token-type:access_token') {
        return oauthError(res, 400, 'invalid_request', 'unsupported subject_token_type');
      }
      let subject: JWTPayload;
      try {
        ({ payload: subject } = await jwtVerify(form.subject_token ?? '', idpKey.publicKey, { issuer }));
      } catch {
        return oauthError(res, 400, 'invalid_grant', 'subject_token is invalid or expired');
      }
      let act: JWTPayload | undefined;
      if (form.actor_token !== undefined) {
        try {
          ({ payload: act } = await jwtVerify(form.actor_token, idpKey.publicKey, { issuer }));
        } catch {
          return oauthError(res, 400, 'invalid_grant', 'actor_token is invalid');
        }
      }
      return json(res, 200, {
        ...(await issue({ sub: subject.sub, aud: form.audience, scope: form.scope, ...(act && { act: { sub: act.sub } }) })),
        issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      });
    }
    if (grantType === JWT_BEARER) {
      try {
        const { payload } = await jwtVerify(form.assertion ?? '', clusterKey.publicKey, { issuer: CLUSTER_ISSUER });
        return json(res, 200, await issue({ sub: payload.sub, aud: form.audience }));
      } catch {
        return oauthError(res, 400, 'invalid_grant', 'assertion rejected');
      }
    }
    return oauthError(res, 400, 'unsupported_grant_type', 'unsupported grant type');
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      handle(req, res, body).catch(() => {
        if (!res.headersSent) json(res, 500, { error: 'server_error' });
      });
    });
  };
  const server: Server =
    options.tls === undefined
      ? createHttpServer(listener)
      : createHttpsServer({ key: options.tls.key, cert: options.tls.cert, ca: options.tls.ca, requestCert: true, rejectUnauthorized: false }, listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  issuer = `${origin}${issuerPath}`;

  const idp: GrantsIdp = {
    issuer,
    tokenUrl: `${issuer}/token`,
    requests,
    discoveryRequests,
    expiresIn: 600,
    userToken: (sub, expSeconds = 3600) => sign({ sub, scope: 'openid' }, expSeconds),
    clusterToken: ({ sub = FEDERATED_SUBJECT, aud = WIF_AUDIENCE, expSeconds = 3600 } = {}) =>
      new SignJWT({ sub, aud, jti: `k${++counter}` })
        .setProtectedHeader({ alg: 'ES256', kid: 'cluster' })
        .setIssuer(CLUSTER_ISSUER)
        .setIssuedAt()
        .setExpirationTime(`${expSeconds}s`)
        .sign(clusterKey.privateKey),
    async verify(token) {
      return (await jwtVerify(token, idpKey.publicKey, { issuer })).payload;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return idp;
}
