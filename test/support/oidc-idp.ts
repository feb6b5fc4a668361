/**
 * A strict OAuth 2 server on loopback for tests: oidc-provider really checks client secrets and
 * `private_key_jwt` assertions (including `jti` replay), and rotates refresh tokens (and revokes the
 * grant when a spent one is used again).
 */
import { createPrivateKey } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider from 'oidc-provider';

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
  readonly requests: { grantType: string; clientId?: string }[];
  close(): Promise<void>;
}

export async function startOidcIdp(): Promise<OidcIdp> {
  const rsa = await generateKeyPair('RS256', { extractable: true });
  const ec = await generateKeyPair('ES256', { extractable: true });
  const signing = await generateKeyPair('RS256', { extractable: true });
  const signingJwk = { ...(await exportJWK(signing.privateKey)), kid: 'idp-signing', alg: 'RS256', use: 'sig' };
  const rsaPublic = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' };
  const ecPublic = { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' };
  const privateJwk = { ...(await exportJWK(ec.privateKey)), kid: 'ec-1', alg: 'ES256' };
  const privateKeyPem = createPrivateKey({ key: (await exportJWK(rsa.privateKey)) as never, format: 'jwk' })
    .export({ format: 'pem', type: 'pkcs8' })
    .toString();

  const requests: { grantType: string; clientId?: string }[] = [];
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const cc = { grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'read write' };
  const provider = new Provider(issuer, {
    clients: [
      { client_id: 'basic-client', client_secret: NASTY_SECRETS.basic, token_endpoint_auth_method: 'client_secret_basic', ...cc },
      { client_id: 'post-client', client_secret: NASTY_SECRETS.post, token_endpoint_auth_method: 'client_secret_post', ...cc },
      {
        client_id: 'jwt-client',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [rsaPublic, ecPublic] },
        ...cc,
      },
      {
        client_id: 'refresh-client',
        client_secret: NASTY_SECRETS.refresh,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: ['https://client.example/cb'],
      },
      {
        client_id: 'public-client',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: ['https://client.example/cb'],
      },
    ],
    features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
    scopes: ['openid', 'offline_access', 'read', 'write'],
    rotateRefreshToken: true,
    findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
    jwks: { keys: [signingJwk] },
    ttl: { ClientCredentials: 600, AccessToken: 600, IdToken: 600, RefreshToken: 86_400 },
  } as never);
  const callback = provider.callback();
  server.on('request', (req, res) => {
    if (req.url === '/token') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        requests.push({ grantType: form.get('grant_type') ?? '', clientId: form.get('client_id') ?? undefined });
      });
    }
    void callback(req, res);
  });

  return {
    issuer,
    tokenUrl: `${issuer}/token`,
    provider,
    privateKeyPem,
    privateJwk,
    requests,
    async issueRefreshToken(clientId = 'refresh-client') {
      const grant = new provider.Grant({ accountId: 'user-1', clientId });
      grant.addOIDCScope('openid offline_access read write');
      const grantId = await grant.save();
      const client = await provider.Client.find(clientId);
      const refreshToken = new provider.RefreshToken({
        accountId: 'user-1',
        client,
        grantId,
        scope: 'openid offline_access read write',
        gty: 'authorization_code',
        authTime: Math.floor(Date.now() / 1000),
      } as never);
      return refreshToken.save();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
