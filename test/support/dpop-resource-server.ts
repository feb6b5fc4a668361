/**
 * A protected API on loopback that accepts only DPoP-bound tokens of the DPoP IdP, each with a valid proof
 * (RFC 9449 §7): signature, `htm`/`htu`, `iat` window, unique `jti`, `ath`, the token's `cnf.jkt`, and the
 * nonce it demands (`401 WWW-Authenticate: DPoP error="use_dpop_nonce"` + `DPoP-Nonce` until a proof carries
 * it). Bearer tokens are accepted only when not bound (a bound token sent as Bearer is refused, §7.2).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DPoPIdp } from './oidc-idp.js';
import { DPoPProofError, verifyDPoPProof, type VerifiedProof } from './dpop-verifier.js';

export interface DPoPSeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  scheme?: string;
  token?: string;
  proof?: VerifiedProof;
  status: number;
  /** Why it was refused. */
  reason?: string;
  /** The `DPoP-Nonce` the reply carried, if any. */
  nonceSent?: string;
}

export interface DPoPResourceServer {
  url: string;
  readonly requests: DPoPSeenRequest[];
  /** The nonce proofs must carry; undefined: none demanded. Starts set (demanded once, then kept). */
  nonce: string | undefined;
  /** A new nonce: the next proof with the old one is answered with `use_dpop_nonce`. */
  rotateNonce(): string;
  /** Tokens refused from now on (revoked), whatever their proof. */
  readonly revoked: Set<string>;
  /** Also send the current nonce on successful replies (RFC 9449 §8.2 lets a server do so any time). */
  sendNonceOnSuccess: boolean;
  /** A new nonce after every request (a server whose nonces are single-use). */
  rotateOnEveryRequest: boolean;
  /** A successful reply announces a new nonce (RFC 9449 §8.2): the proof it accepted carried the old one. */
  rotateOnSuccess: boolean;
  close(): Promise<void>;
}

export async function startDPoPResourceServer(idp: DPoPIdp, options: { demandNonce?: boolean } = {}): Promise<DPoPResourceServer> {
  const requests: DPoPSeenRequest[] = [];
  const seenJtis = new Set<string>();
  const revoked = new Set<string>();
  const rs: DPoPResourceServer = {
    url: '',
    requests,
    nonce: options.demandNonce === false ? undefined : randomBytes(12).toString('base64url'),
    rotateNonce() {
      rs.nonce = randomBytes(12).toString('base64url');
      return rs.nonce;
    },
    revoked,
    sendNonceOnSuccess: false,
    rotateOnEveryRequest: false,
    rotateOnSuccess: false,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const auth = req.headers.authorization ?? '';
    const space = auth.indexOf(' ');
    const scheme = space > 0 ? auth.slice(0, space) : undefined;
    const token = space > 0 ? auth.slice(space + 1) : undefined;
    const seen: DPoPSeenRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      ...(scheme !== undefined && { scheme }),
      ...(token !== undefined && { token }),
      status: 0,
    };
    requests.push(seen);
    res.on('finish', () => {
      if (rs.rotateOnEveryRequest) rs.rotateNonce();
    });
    const refuse = (status: number, challenge: string, reason: string, nonce?: string) => {
      seen.status = status;
      seen.reason = reason;
      if (nonce !== undefined) seen.nonceSent = nonce;
      res.writeHead(status, {
        'content-type': 'application/json',
        'www-authenticate': challenge,
        ...(nonce !== undefined && { 'dpop-nonce': nonce }),
      });
      res.end(JSON.stringify({ error: reason }));
    };
    const issued = token !== undefined && !revoked.has(token) ? await idp.lookup(token) : undefined;
    if (scheme?.toLowerCase() === 'bearer') {
      if (issued === undefined || issued.jkt !== undefined) return refuse(401, 'Bearer error="invalid_token"', issued ? 'bound token sent as Bearer' : 'unknown token');
    } else if (scheme === 'DPoP') {
      if (issued === undefined || issued.jkt === undefined) return refuse(401, 'DPoP algs="ES256", error="invalid_token"', issued ? 'unbound token sent as DPoP' : 'unknown token');
      try {
        seen.proof = await verifyDPoPProof({
          proof: req.headers.dpop,
          method: seen.method,
          url: `${rs.url}${seen.url}`,
          accessToken: token,
          jkt: issued.jkt,
          nonce: rs.nonce,
          seenJtis,
        });
      } catch (error) {
        const reason = error instanceof DPoPProofError ? error.reason : String(error);
        if (reason === 'nonce missing' || reason === 'nonce stale') {
          return refuse(401, 'DPoP algs="ES256", error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"', reason, rs.nonce);
        }
        return refuse(401, 'DPoP algs="ES256", error="invalid_dpop_proof"', reason);
      }
    } else {
      return refuse(401, 'DPoP algs="ES256", Bearer realm="test"', 'no credentials');
    }
    seen.status = 200;
    if (rs.rotateOnSuccess) rs.rotateNonce();
    const announce = (rs.sendNonceOnSuccess || rs.rotateOnSuccess) && rs.nonce !== undefined ? rs.nonce : undefined;
    if (announce !== undefined) seen.nonceSent = announce;
    res.writeHead(200, { 'content-type': 'application/json', ...(announce !== undefined && { 'dpop-nonce': announce }) });
    res.end(JSON.stringify({ ok: true, method: seen.method, url: seen.url, body: seen.body, scheme, jkt: issued.jkt ?? null }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  rs.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return rs;
}
