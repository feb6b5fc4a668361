/**
 * oidc-provider 9 on loopback, the one set-up every test that wants a strict third-party IdP shares: it
 * really checks client secrets, `client_secret_jwt` / `private_key_jwt` assertions (including `jti` replay),
 * rotates refresh tokens, and, per variant, does DPoP (RFC 9449), registered grants (RFC 8693 token exchange,
 * RFC 7523 JWT bearer) and RFC 8705 mTLS client authentication over HTTPS.
 *
 * - `startOidcProvider(options)`: the server, the provider and a record of every token request;
 * - `startOidcIdp()`: client secrets with awkward characters, private_key_jwt, refresh tokens;
 * - `startDPoPIdp()`: DPoP with nonces, token exchange bound to the proof's key;
 * - `startGrantsOidcIdp()`: token exchange and JWT bearer as registered grants, every client authentication
 *   method (mTLS ones when started over HTTPS), discovery with `mtls_endpoint_aliases`.
 */
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK } from 'jose';
import Provider from 'oidc-provider';
import { DPoPProofError, verifyDPoPProof } from './dpop-verifier.js';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** One request to the token endpoint (or its mTLS alias), as it arrived. */
export interface OidcTokenRequest {
  path: string;
  grantType: string;
  /** `client_id` of the form (undefined when the client authenticated with HTTP Basic only). */
  clientId?: string;
  form: Record<string, string>;
  authorization?: string;
  /** The DPoP proof sent with it (undefined: none). */
  proof?: string;
  /** CN of the client certificate presented (HTTPS only). */
  clientCertificate?: string;
  status?: number;
}

export interface OidcProviderOptions {
  clients: Record<string, unknown>[];
  /** Merged into the provider's `features` (clientCredentials on, devInteractions off by default). */
  features?: Record<string, unknown>;
  /** Anything else of oidc-provider's configuration. */
  configuration?: Record<string, unknown>;
  /** Serve over HTTPS, asking for (not requiring) a client certificate; `ca` verifies client certificates. */
  https?: { key: string; cert: string; ca: string };
  /** Advertise `mtls_endpoint_aliases.token_endpoint` at this path (served as the token endpoint). */
  mtlsAliasPath?: string;
  /** Registers grants and the like once the provider exists. */
  setUp?: (provider: Provider, issuer: string) => void;
}

export interface OidcProviderServer {
  issuer: string;
  tokenUrl: string;
  provider: Provider;
  readonly requests: OidcTokenRequest[];
  close(): Promise<void>;
}

export async function startOidcProvider(options: OidcProviderOptions): Promise<OidcProviderServer> {
  const signing = await generateKeyPair('RS256', { extractable: true });
  const signingJwk = { ...(await exportJWK(signing.privateKey)), kid: 'idp-signing', alg: 'RS256', use: 'sig' };
  const requests: OidcTokenRequest[] = [];
  const server: Server = options.https
    ? (createHttpsServer({ ...options.https, requestCert: true, rejectUnauthorized: false }) as unknown as Server)
    : createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `${options.https ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tokenPaths = new Set(['/token', ...(options.mtlsAliasPath ? [options.mtlsAliasPath] : [])]);

  const provider = new Provider(issuer, {
    clients: options.clients,
    features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false }, ...options.features },
    scopes: ['openid', 'offline_access', 'read', 'write'],
    rotateRefreshToken: true,
    findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
    jwks: { keys: [signingJwk] },
    ttl: { ClientCredentials: 600, AccessToken: 600, IdToken: 600, RefreshToken: 86_400 },
    ...(options.mtlsAliasPath && { discovery: { mtls_endpoint_aliases: { token_endpoint: `${issuer}${options.mtlsAliasPath}` } } }),
    ...options.configuration,
  } as never);
  options.setUp?.(provider, issuer);

  const callback = provider.callback();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', issuer).pathname;
    if (req.method === 'POST' && tokenPaths.has(path)) {
      // The mTLS alias is the same endpoint under another path (RFC 8705 §5).
      if (path !== '/token') req.url = '/token';
      const peer = options.https ? (req.socket as TLSSocket).getPeerCertificate() : undefined;
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const form = Object.fromEntries(new URLSearchParams(body));
        const seen: OidcTokenRequest = {
          path,
          grantType: form.grant_type ?? '',
          clientId: form.client_id,
          form,
          authorization: req.headers.authorization,
          proof: req.headers.dpop as string | undefined,
          clientCertificate: peer?.subject?.CN as string | undefined,
        };
        requests.push(seen);
        res.on('finish', () => (seen.status = res.statusCode));
      });
    }
    void callback(req, res);
  });

  return {
    issuer,
    tokenUrl: `${issuer}/token`,
    provider,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type GrantContext = {
  oidc: { params: Record<string, string | undefined>; client: { clientId: string } };
  get(header: string): string;
  set(header: string, value: string): void;
  status: number;
  body: unknown;
};
type RegisterGrantType = (name: string, handler: (ctx: GrantContext) => Promise<void>, params: string[]) => void;
type TokenModel = new (props: Record<string, unknown>) => { save(): Promise<string>; expiration: number; setThumbprint(p: string, v: string): void };
interface Models {
  registerGrantType: RegisterGrantType;
  ClientCredentials: TokenModel;
  AccessToken: TokenModel & { find(value: string): Promise<Record<string, unknown> | undefined> };
  Grant: new (props: { accountId: string; clientId: string }) => { addOIDCScope(s: string): void; addResourceScope(r: string, s: string): void; save(): Promise<string> };
  RefreshToken: new (props: Record<string, unknown>) => { save(): Promise<string> };
  Client: { find(id: string): Promise<unknown> };
}
const models = (provider: Provider) => provider as unknown as Models;

function refuse(ctx: GrantContext, error: string, description: string): void {
  ctx.status = 400;
  ctx.body = { error, error_description: description };
}

/** A refresh token (scopes `openid offline_access read write`) for `clientId`, as an authorization-code login leaves it. */
async function issueRefreshToken(provider: Provider, clientId: string, accountId = 'user-1'): Promise<string> {
  const m = models(provider);
  const grant = new m.Grant({ accountId, clientId });
  grant.addOIDCScope('openid offline_access read write');
  const grantId = await grant.save();
  const client = await m.Client.find(clientId);
  return new m.RefreshToken({
    accountId,
    client,
    grantId,
    scope: 'openid offline_access read write',
    gty: 'authorization_code',
    authTime: Math.floor(Date.now() / 1000),
  }).save();
}

// ---------------------------------------------------------------------------------------------------------
// startOidcIdp: client secrets with awkward characters, private_key_jwt, refresh tokens.

/**
 * Secrets with the characters that break naive Basic/form encoding (`:`, `%`, `%41`, `+`, space, `&`, `=`).
 * ASCII only: oidc-provider enforces RFC 6749 Appendix A (a client secret is VSCHARs, %x20-7E) and refuses
 * anything else, so non-ASCII secrets are checked against the mock IdP and a raw server instead.
 */
export const NASTY_SECRETS = {
  basic: 'b:a%41s+ic /=?&#"\\',
  post: 'p%2Bo:s+t =&%',
  refresh: 'r:e%f+r e&=',
} as const;

export interface OidcIdp {
  issuer: string;
  tokenUrl: string;
  provider: Provider;
  /** A PKCS#8 PEM private key registered for the `jwt-client` (RS256). */
  privateKeyPem: string;
  /** A private JWK (ES256, with `kid`) registered for the `jwt-client` too. */
  privateJwk: JWK;
  /** A new refresh token for `refresh-client` (or `clientId`), scopes `openid offline_access read write`. */
  issueRefreshToken(clientId?: string): Promise<string>;
  /** Token endpoint requests seen (any outcome), by grant type. */
  readonly requests: OidcTokenRequest[];
  close(): Promise<void>;
}

async function clientKeys() {
  const rsa = await generateKeyPair('RS256', { extractable: true });
  const ec = await generateKeyPair('ES256', { extractable: true });
  return {
    publicKeys: [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ],
    privateJwk: { ...(await exportJWK(ec.privateKey)), kid: 'ec-1', alg: 'ES256' } as JWK,
    privateKeyPem: createPrivateKey({ key: (await exportJWK(rsa.privateKey)) as never, format: 'jwk' }).export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

export async function startOidcIdp(): Promise<OidcIdp> {
  const keys = await clientKeys();
  const cc = { grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'read write' };
  const code = { grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], redirect_uris: ['https://client.example/cb'] };
  const idp = await startOidcProvider({
    clients: [
      { client_id: 'basic-client', client_secret: NASTY_SECRETS.basic, token_endpoint_auth_method: 'client_secret_basic', ...cc },
      { client_id: 'post-client', client_secret: NASTY_SECRETS.post, token_endpoint_auth_method: 'client_secret_post', ...cc },
      { client_id: 'jwt-client', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: keys.publicKeys }, ...cc },
      { client_id: 'refresh-client', client_secret: NASTY_SECRETS.refresh, token_endpoint_auth_method: 'client_secret_basic', ...code },
      { client_id: 'public-client', token_endpoint_auth_method: 'none', ...code },
    ],
  });
  return {
    ...idp,
    privateKeyPem: keys.privateKeyPem,
    privateJwk: keys.privateJwk,
    issueRefreshToken: (clientId = 'refresh-client') => issueRefreshToken(idp.provider, clientId),
  };
}

// ---------------------------------------------------------------------------------------------------------
// startDPoPIdp: DPoP (RFC 9449) with nonces; token exchange bound to the proof's key.

export const DPOP_CLIENT = { id: 'dpop-client', secret: 'dpop-client-secret-1' } as const;
export const DPOP_REFRESH_CLIENT = { id: 'dpop-refresh-client', secret: 'dpop-refresh-secret-1' } as const;

export type DPoPIdpRequest = OidcTokenRequest;

export interface IssuedToken {
  /** The thumbprint the token is bound to (`cnf.jkt`); undefined for a bearer token. */
  jkt?: string;
  clientId: string;
  scope?: string;
  kind: 'ClientCredentials' | 'AccessToken';
  /** The user a token was issued for (token exchange, JWT bearer). */
  accountId?: string;
  /** Extra claims (`act` of an exchanged token). */
  extra?: Record<string, unknown>;
}

export interface DPoPIdp {
  issuer: string;
  tokenUrl: string;
  /** Every token request, in order, with the status it got. */
  readonly requests: DPoPIdpRequest[];
  /** The token's binding, or undefined when this IdP did not issue it (or it expired). */
  lookup(token: string): Promise<IssuedToken | undefined>;
  /** A new refresh token for DPOP_REFRESH_CLIENT, scopes `openid offline_access read write`. */
  issueRefreshToken(): Promise<string>;
  /** Subject tokens seen by the token exchange grant. */
  readonly subjectTokens: string[];
  close(): Promise<void>;
}

async function lookup(provider: Provider, token: string): Promise<IssuedToken | undefined> {
  const m = models(provider) as unknown as Record<'ClientCredentials' | 'AccessToken', { find(v: string): Promise<Record<string, unknown> | undefined> }>;
  for (const kind of ['ClientCredentials', 'AccessToken'] as const) {
    const found = await m[kind].find(token).catch(() => undefined);
    if (found) {
      return {
        kind,
        jkt: found.jkt as string | undefined,
        clientId: (found.clientId as string | undefined) ?? '',
        scope: found.scope as string | undefined,
        accountId: found.accountId as string | undefined,
        extra: found.extra as Record<string, unknown> | undefined,
      };
    }
  }
  return undefined;
}

export async function startDPoPIdp(): Promise<DPoPIdp> {
  const subjectTokens: string[] = [];
  const idp = await startOidcProvider({
    clients: [
      {
        client_id: DPOP_CLIENT.id,
        client_secret: DPOP_CLIENT.secret,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials', TOKEN_EXCHANGE],
        response_types: [],
        redirect_uris: [],
        scope: 'read write',
      },
      {
        client_id: DPOP_REFRESH_CLIENT.id,
        client_secret: DPOP_REFRESH_CLIENT.secret,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: ['https://client.example/cb'],
      },
    ],
    features: { dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true } },
    configuration: { enabledJWA: { dPoPSigningAlgValues: ['ES256', 'ES384', 'RS256', 'PS256', 'Ed25519', 'EdDSA'] } },
    setUp: (provider, issuer) => {
      // RFC 8693 token exchange, issuing a token bound to the proof's key. oidc-provider's own DPoP checks are
      // not reachable from a custom grant, so the independent verifier checks the proof, with a nonce of its own.
      const seenJtis = new Set<string>();
      const exchangeNonce = randomBytes(12).toString('base64url');
      const m = models(provider);
      m.registerGrantType(
        TOKEN_EXCHANGE,
        async (ctx) => {
          const subjectToken = ctx.oidc.params.subject_token;
          if (!subjectToken) return refuse(ctx, 'invalid_request', 'subject_token missing');
          subjectTokens.push(subjectToken);
          const proof = ctx.get('dpop') || undefined;
          let thumbprint: string | undefined;
          if (proof !== undefined) {
            try {
              ({ thumbprint } = await verifyDPoPProof({ proof, method: 'POST', url: `${issuer}/token`, nonce: exchangeNonce, seenJtis }));
            } catch (error) {
              const reason = (error as DPoPProofError).reason ?? String(error);
              if (reason === 'nonce missing' || reason === 'nonce stale') {
                ctx.set('DPoP-Nonce', exchangeNonce);
                return refuse(ctx, 'use_dpop_nonce', 'Authorization server requires nonce in DPoP proof');
              }
              return refuse(ctx, 'invalid_dpop_proof', reason);
            }
          }
          const token = new m.ClientCredentials({ client: ctx.oidc.client, scope: ctx.oidc.params.scope });
          if (thumbprint !== undefined) token.setThumbprint('jkt', thumbprint);
          const value = await token.save();
          ctx.body = {
            access_token: value,
            issued_token_type: ACCESS_TOKEN_TYPE,
            token_type: thumbprint !== undefined ? 'DPoP' : 'Bearer',
            expires_in: token.expiration,
          };
        },
        ['subject_token', 'subject_token_type', 'requested_token_type', 'actor_token', 'actor_token_type', 'audience', 'scope', 'resource'],
      );
    },
  });
  return {
    issuer: idp.issuer,
    tokenUrl: idp.tokenUrl,
    requests: idp.requests,
    subjectTokens,
    lookup: (token) => lookup(idp.provider, token),
    issueRefreshToken: () => issueRefreshToken(idp.provider, DPOP_REFRESH_CLIENT.id),
    close: idp.close,
  };
}

// ---------------------------------------------------------------------------------------------------------
// startGrantsOidcIdp: token exchange and JWT bearer as registered grants, every client authentication method.

/** The clients of the grants IdP, one per authentication method; each may use every grant. */
export const GRANT_CLIENTS = {
  basic: { id: 'secret-basic', secret: 'basic-secret-0123456789-abcdefghij' },
  post: { id: 'secret-post', secret: 'post-secret-0123456789-abcdefghijk' },
  /** HS256 needs a secret of at least 32 bytes. */
  jwt: { id: 'secret-jwt', secret: 'secret-jwt-0123456789-abcdefghijklmnop' },
  key: { id: 'key-jwt' },
  mtls: { id: 'mtls-client' },
  selfSigned: { id: 'self-signed-client' },
} as const;

/** The issuer of the workload assertions (a Kubernetes service-account issuer) the IdP trusts for JWT bearer. */
export const WORKLOAD_ISSUER = 'https://kubernetes.default.svc.cluster.local';

export interface GrantsOidcIdp extends OidcProviderServer {
  /** A PKCS#8 PEM private key registered for `key-jwt` (RS256). */
  privateKeyPem: string;
  /** An opaque access token of this IdP for `user` (issued to another app), to exchange. */
  issueUserToken(user: string): Promise<string>;
  /** A workload assertion (RS256, `iss` WORKLOAD_ISSUER) for `sub`, `aud` this IdP's issuer unless given. */
  signAssertion(claims: { sub: string; aud?: string; expiresIn?: string }): Promise<string>;
  /** What this IdP knows of a token it issued. */
  lookup(token: string): Promise<IssuedToken | undefined>;
  /** Subject tokens and assertions the grants saw. */
  readonly seen: { subjectTokens: string[]; assertions: string[] };
}

export interface GrantsOidcIdpOptions {
  /** Serve over HTTPS (client certificates asked for) and register the mTLS clients. */
  https?: { key: string; cert: string; ca: string };
  /** With `https`: the certificates of the mTLS clients (PEM): CA-signed for `mtls-client`, self-signed for the other. */
  mtls?: { caSignedCn: string; selfSignedCert: string };
}

export async function startGrantsOidcIdp(options: GrantsOidcIdpOptions = {}): Promise<GrantsOidcIdp> {
  const keys = await clientKeys();
  const workload = await generateKeyPair('RS256', { extractable: true });
  const workloadJwks = createLocalJWKSet({ keys: [{ ...(await exportJWK(workload.publicKey)), kid: 'sa-1', alg: 'RS256' }] });
  const seen = { subjectTokens: [] as string[], assertions: [] as string[] };
  /** What the grants decided beyond the token's own fields (the acting client, the audience). */
  const extras = new Map<string, Record<string, unknown>>();
  const grants = { grant_types: ['client_credentials', TOKEN_EXCHANGE, JWT_BEARER], response_types: [], redirect_uris: [], scope: 'read write' };
  const clients: Record<string, unknown>[] = [
    { client_id: GRANT_CLIENTS.basic.id, client_secret: GRANT_CLIENTS.basic.secret, token_endpoint_auth_method: 'client_secret_basic', ...grants },
    { client_id: GRANT_CLIENTS.post.id, client_secret: GRANT_CLIENTS.post.secret, token_endpoint_auth_method: 'client_secret_post', ...grants },
    { client_id: GRANT_CLIENTS.jwt.id, client_secret: GRANT_CLIENTS.jwt.secret, token_endpoint_auth_method: 'client_secret_jwt', ...grants },
    { client_id: GRANT_CLIENTS.key.id, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: keys.publicKeys }, ...grants },
    // The app the users signed in to: their tokens are issued to it, and exchanged by the clients above.
    { client_id: 'user-app', token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], response_types: ['code'], redirect_uris: ['https://app.example/cb'] },
  ];
  let features: Record<string, unknown> = {};
  let configuration: Record<string, unknown> = {};
  if (options.https && options.mtls) {
    const selfSigned = new X509Certificate(options.mtls.selfSignedCert);
    const jwk = { ...(selfSigned.publicKey.export({ format: 'jwk' }) as JWK), x5c: [selfSigned.raw.toString('base64')] };
    clients.push(
      { client_id: GRANT_CLIENTS.mtls.id, token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: `CN=${options.mtls.caSignedCn}`, ...grants },
      { client_id: GRANT_CLIENTS.selfSigned.id, token_endpoint_auth_method: 'self_signed_tls_client_auth', jwks: { keys: [jwk] }, ...grants },
    );
    type Ctx = { socket: TLSSocket };
    const peer = (ctx: Ctx) => ctx.socket.getPeerCertificate?.();
    features = {
      mTLS: {
        enabled: true,
        tlsClientAuth: true,
        selfSignedTlsClientAuth: true,
        getCertificate: (ctx: Ctx) => {
          const cert = peer(ctx);
          return cert?.raw ? new X509Certificate(cert.raw) : undefined;
        },
        // Verified against the CA the server was given (the TLS layer asked, and did not require).
        certificateAuthorized: (ctx: Ctx) => ctx.socket.authorized === true,
        certificateSubjectMatches: (ctx: Ctx, property: string, expected: string) =>
          property === 'tls_client_auth_subject_dn' && `CN=${peer(ctx)?.subject?.CN}` === expected,
      },
    };
    configuration = {
      clientAuthMethods: ['client_secret_basic', 'client_secret_jwt', 'client_secret_post', 'private_key_jwt', 'none', 'tls_client_auth', 'self_signed_tls_client_auth'],
    };
  }

  const idp = await startOidcProvider({
    clients,
    features,
    configuration,
    https: options.https,
    mtlsAliasPath: options.https ? '/mtls/token' : undefined,
    setUp: (provider, issuer) => {
      const m = models(provider);
      const issue = async (ctx: GrantContext, accountId: string, extra: Record<string, unknown>) => {
        const grant = new m.Grant({ accountId, clientId: ctx.oidc.client.clientId });
        grant.addOIDCScope('openid');
        const grantId = await grant.save();
        const token = new m.AccessToken({ accountId, client: ctx.oidc.client, grantId, scope: ctx.oidc.params.scope, gty: 'exchange' });
        const value = await token.save();
        extras.set(value, extra);
        ctx.body = { access_token: value, issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', expires_in: token.expiration };
      };
      // RFC 8693: the subject token must be an unexpired access token of this IdP; the new one is for the same
      // user, with the acting client in `act` and the requested audience.
      m.registerGrantType(
        TOKEN_EXCHANGE,
        async (ctx) => {
          const { subject_token: subjectToken, subject_token_type: type, audience } = ctx.oidc.params;
          if (!subjectToken || type !== ACCESS_TOKEN_TYPE) return refuse(ctx, 'invalid_request', 'subject_token and subject_token_type (access_token) are required');
          seen.subjectTokens.push(subjectToken);
          const subject = await m.AccessToken.find(subjectToken);
          if (!subject || (subject as { isExpired?: boolean }).isExpired) return refuse(ctx, 'invalid_grant', 'subject_token is not an active access token of this server');
          await issue(ctx, subject.accountId as string, { act: { sub: ctx.oidc.client.clientId }, ...(audience && { aud: audience }) });
        },
        ['subject_token', 'subject_token_type', 'requested_token_type', 'actor_token', 'actor_token_type', 'audience', 'scope', 'resource'],
      );
      // RFC 7523 §2.1: a JWT from a trusted issuer (the workload's), for this server (`aud` its issuer or token endpoint).
      m.registerGrantType(
        JWT_BEARER,
        async (ctx) => {
          const assertion = ctx.oidc.params.assertion;
          if (!assertion) return refuse(ctx, 'invalid_request', 'assertion is required');
          seen.assertions.push(assertion);
          let sub: string | undefined;
          try {
            ({ payload: { sub } } = await jwtVerify(assertion, workloadJwks, { issuer: WORKLOAD_ISSUER, audience: [issuer, `${issuer}/token`], requiredClaims: ['exp', 'sub'] }));
          } catch (error) {
            return refuse(ctx, 'invalid_grant', `assertion rejected: ${(error as Error).message}`);
          }
          await issue(ctx, sub!, { assertion_sub: sub });
        },
        ['assertion', 'scope', 'audience', 'resource'],
      );
    },
  });

  return {
    ...idp,
    privateKeyPem: keys.privateKeyPem,
    seen,
    lookup: async (token) => {
      const found = await lookup(idp.provider, token);
      return found && { ...found, extra: extras.get(token) };
    },
    async issueUserToken(user) {
      const m = models(idp.provider);
      const grant = new m.Grant({ accountId: user, clientId: 'user-app' });
      grant.addOIDCScope('openid');
      const grantId = await grant.save();
      const client = await m.Client.find('user-app');
      return new m.AccessToken({ accountId: user, client, grantId, scope: 'openid', gty: 'authorization_code' }).save();
    },
    signAssertion: ({ sub, aud, expiresIn = '5m' }) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', kid: 'sa-1' })
        .setIssuer(WORKLOAD_ISSUER)
        .setSubject(sub)
        .setAudience(aud ?? idp.issuer)
        .setIssuedAt()
        .setExpirationTime(expiresIn)
        .setJti(randomBytes(8).toString('hex'))
        .sign(workload.privateKey),
  };
}
