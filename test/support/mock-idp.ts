/**
 * A real OAuth 2 server on loopback for tests (oauth2-mock-server: RS256 JWTs, any client secret).
 * Counts the token requests it serves and lets a test change `expires_in` or answer with an error.
 */
import type { IncomingMessage } from 'node:http';
import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { OAuth2Server } from 'oauth2-mock-server';

export interface MockIdpRequest {
  grantType: string;
  body: Record<string, unknown>;
  authorization?: string;
}

export interface MockIdp {
  server: OAuth2Server;
  issuer: string;
  tokenUrl: string;
  /** Token requests served (any outcome). */
  readonly tokenRequests: number;
  /** Every token request, in order. */
  readonly requests: MockIdpRequest[];
  /** `expires_in` (s) of later tokens; the JWT `exp` matches it. Default 3600. */
  expiresIn: number;
  /** When set, the next token requests get this reply instead of a token. */
  failWith?: { status: number; body: Record<string, unknown> | '' };
  /** Verifies a token was issued by this IdP and is unexpired; throws otherwise. */
  verify(token: string): Promise<JWTPayload>;
  close(): Promise<void>;
}

export async function startMockIdp(options: { expiresIn?: number } = {}): Promise<MockIdp> {
  const server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  await server.start(0, '127.0.0.1');
  const issuer = server.issuer.url!;
  const requests: MockIdpRequest[] = [];
  const idp: MockIdp = {
    server,
    issuer,
    tokenUrl: `${issuer}/token`,
    get tokenRequests() {
      return requests.length;
    },
    requests,
    expiresIn: options.expiresIn ?? 3600,
    async verify(token: string) {
      const jwks = createLocalJWKSet({ keys: server.issuer.keys.toJSON() as never });
      const { payload } = await jwtVerify(token, jwks, { issuer });
      return payload;
    },
    close: () => server.stop(),
  };
  server.service.on('beforeTokenSigning', (token: { payload: { exp: number; iat: number } }) => {
    token.payload.exp = token.payload.iat + idp.expiresIn;
  });
  server.service.on('beforeResponse', (response: { statusCode: number; body: Record<string, unknown> | '' }, req: IncomingMessage & { body: Record<string, unknown> }) => {
    requests.push({ grantType: String(req.body.grant_type), body: { ...req.body }, authorization: req.headers.authorization });
    if (idp.failWith) {
      response.statusCode = idp.failWith.status;
      response.body = idp.failWith.body;
      return;
    }
    if (typeof response.body === 'object') response.body.expires_in = idp.expiresIn;
  });
  return idp;
}
