/**
 * oidc-provider 9 with DPoP on (RFC 9449), on loopback: it demands a nonce (`use_dpop_nonce` until the proof
 * carries the one it sent), checks every proof itself and binds the tokens it issues to the proof's key
 * (`token_type: DPoP`, the token's `jkt`), for client credentials and refresh tokens. Token exchange
 * (RFC 8693) is registered as a grant here, checked by the independent verifier, and binds the same way.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import { DPoPProofError, verifyDPoPProof } from './dpop-verifier.js';

export const DPOP_CLIENT = { id: 'dpop-client', secret: 'dpop-client-secret-1' } as const;
export const DPOP_REFRESH_CLIENT = { id: 'dpop-refresh-client', secret: 'dpop-refresh-secret-1' } as const;
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

export interface DPoPIdpRequest {
  grantType: string;
  /** The proof sent with it (undefined: none). */
  proof?: string;
  status?: number;
}

export interface IssuedToken {
  /** The thumbprint the token is bound to (`cnf.jkt`); undefined for a bearer token. */
  jkt?: string;
  clientId: string;
  scope?: string;
  kind: 'ClientCredentials' | 'AccessToken';
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

export async function startDPoPIdp(): Promise<DPoPIdp> {
  const signing = await generateKeyPair('RS256', { extractable: true });
  const signingJwk = { ...(await exportJWK(signing.privateKey)), kid: 'idp-signing', alg: 'RS256', use: 'sig' };
  const requests: DPoPIdpRequest[] = [];
  const subjectTokens: string[] = [];
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tokenUrl = `${issuer}/token`;

  const provider = new Provider(issuer, {
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
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
      dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
    },
    enabledJWA: { dPoPSigningAlgValues: ['ES256', 'ES384', 'RS256', 'PS256', 'Ed25519', 'EdDSA'] },
    scopes: ['openid', 'offline_access', 'read', 'write'],
    rotateRefreshToken: true,
    findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
    jwks: { keys: [signingJwk] },
    ttl: { ClientCredentials: 600, AccessToken: 600, IdToken: 600, RefreshToken: 86_400 },
  } as never);

  // RFC 8693 token exchange, issuing a token bound to the proof's key. oidc-provider's own DPoP checks are
  // not reachable from a custom grant, so the independent verifier checks the proof, with a nonce of its own.
  const seenJtis = new Set<string>();
  const exchangeNonce = randomBytes(12).toString('base64url');
  const p = provider as unknown as {
    registerGrantType(name: string, handler: (ctx: never) => Promise<void>, params: string[]): void;
    ClientCredentials: new (props: Record<string, unknown>) => { setThumbprint(p: string, v: string): void; save(): Promise<string>; expiration: number };
  };
  p.registerGrantType(
    TOKEN_EXCHANGE,
    async (ctx: never) => {
      const c = ctx as {
        oidc: { params: Record<string, string | undefined>; client: unknown };
        get(h: string): string;
        set(h: string, v: string): void;
        status: number;
        body: unknown;
      };
      const subjectToken = c.oidc.params.subject_token;
      if (!subjectToken) {
        c.status = 400;
        c.body = { error: 'invalid_request', error_description: 'subject_token missing' };
        return;
      }
      subjectTokens.push(subjectToken);
      const proof = c.get('dpop') || undefined;
      let thumbprint: string | undefined;
      if (proof !== undefined) {
        try {
          ({ thumbprint } = await verifyDPoPProof({ proof, method: 'POST', url: tokenUrl, nonce: exchangeNonce, seenJtis }));
        } catch (error) {
          const reason = (error as DPoPProofError).reason ?? String(error);
          c.status = 400;
          if (reason === 'nonce missing' || reason === 'nonce stale') {
            c.set('DPoP-Nonce', exchangeNonce);
            c.body = { error: 'use_dpop_nonce', error_description: 'Authorization server requires nonce in DPoP proof' };
          } else {
            c.body = { error: 'invalid_dpop_proof', error_description: reason };
          }
          return;
        }
      }
      const token = new p.ClientCredentials({ client: c.oidc.client, scope: c.oidc.params.scope });
      if (thumbprint !== undefined) token.setThumbprint('jkt', thumbprint);
      const value = await token.save();
      c.body = {
        access_token: value,
        issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        token_type: thumbprint !== undefined ? 'DPoP' : 'Bearer',
        expires_in: token.expiration,
      };
    },
    ['subject_token', 'subject_token_type', 'requested_token_type', 'actor_token', 'actor_token_type', 'audience', 'scope', 'resource'],
  );

  const callback = provider.callback();
  server.on('request', (req, res) => {
    if (req.url === '/token') {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const seen: DPoPIdpRequest = { grantType: new URLSearchParams(body).get('grant_type') ?? '', proof: req.headers.dpop as string | undefined };
        requests.push(seen);
        res.on('finish', () => (seen.status = res.statusCode));
      });
    }
    void callback(req, res);
  });

  const models = provider as unknown as Record<'ClientCredentials' | 'AccessToken', { find(v: string): Promise<Record<string, unknown> | undefined> }>;
  return {
    issuer,
    tokenUrl,
    requests,
    subjectTokens,
    async lookup(token) {
      for (const kind of ['ClientCredentials', 'AccessToken'] as const) {
        const found = await models[kind].find(token).catch(() => undefined);
        if (found) {
          return {
            kind,
            jkt: found.jkt as string | undefined,
            clientId: (found.clientId as string | undefined) ?? '',
            scope: found.scope as string | undefined,
          };
        }
      }
      return undefined;
    },
    async issueRefreshToken() {
      const grant = new provider.Grant({ accountId: 'user-1', clientId: DPOP_REFRESH_CLIENT.id });
      grant.addOIDCScope('openid offline_access read write');
      const grantId = await grant.save();
      const client = await provider.Client.find(DPOP_REFRESH_CLIENT.id);
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
