/**
 * A strict DPoP proof check (RFC 9449 §4.3) for the test servers: signature by the embedded key, `typ`,
 * `alg`, `htm`, `htu` (query and fragment removed), `iat` within a window, `jti` never seen before, `ath`
 * of the token, `nonce` when one is demanded, and the key's thumbprint against the token's `cnf.jkt`.
 * Written from the RFC, independently of the library, so it can catch the library's mistakes.
 */
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify, type JWTPayload } from 'jose';

export class DPoPProofError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

export interface ProofCheck {
  proof: string | string[] | undefined;
  method: string;
  /** The URL the request was sent to (the server's view: its own origin + the request target). */
  url: string;
  accessToken?: string;
  /** The nonce the proof must carry, if the server demands one. */
  nonce?: string;
  /** Bound token: the thumbprint the proof's key must have. */
  jkt?: string;
  /** jtis seen (per server): a repeat is a replay. */
  seenJtis: Set<string>;
  /** Allowed |now - iat| in s. Default 60. */
  iatWindowS?: number;
  algorithms?: string[];
}

export interface VerifiedProof {
  thumbprint: string;
  payload: JWTPayload & { htm?: string; htu?: string; ath?: string; nonce?: string };
  alg: string;
}

export async function verifyDPoPProof(check: ProofCheck): Promise<VerifiedProof> {
  const { proof } = check;
  if (proof === undefined) throw new DPoPProofError('no DPoP header');
  if (Array.isArray(proof) || proof.includes(',')) throw new DPoPProofError('more than one DPoP header');
  let verified;
  try {
    verified = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: check.algorithms ?? ['ES256', 'ES384', 'ES512', 'RS256', 'PS256', 'Ed25519', 'EdDSA'],
    });
  } catch (error) {
    throw new DPoPProofError(`bad signature or header: ${(error as Error).message}`);
  }
  const { payload, protectedHeader } = verified;
  const jwk = protectedHeader.jwk as Record<string, unknown> | undefined;
  if (jwk === undefined || 'd' in jwk || 'p' in jwk) throw new DPoPProofError('jwk header missing or private');
  const p = payload as VerifiedProof['payload'];
  if (typeof p.jti !== 'string' || p.jti.length < 16) throw new DPoPProofError('jti missing or short');
  if (check.seenJtis.has(p.jti)) throw new DPoPProofError('jti replayed');
  check.seenJtis.add(p.jti);
  if (p.htm !== check.method) throw new DPoPProofError(`htm ${String(p.htm)} != ${check.method}`);
  const expected = new URL(check.url);
  if (p.htu !== `${expected.origin}${expected.pathname}`) throw new DPoPProofError(`htu ${String(p.htu)} != ${expected.origin}${expected.pathname}`);
  const now = Math.floor(Date.now() / 1000);
  if (typeof p.iat !== 'number' || Math.abs(now - p.iat) > (check.iatWindowS ?? 60)) throw new DPoPProofError('iat outside the window');
  if (check.accessToken !== undefined) {
    const ath = createHash('sha256').update(check.accessToken).digest('base64url');
    if (p.ath !== ath) throw new DPoPProofError('ath mismatch');
  } else if (p.ath !== undefined) {
    throw new DPoPProofError('ath on a request without a token');
  }
  const thumbprint = await calculateJwkThumbprint(jwk as never);
  if (check.jkt !== undefined && thumbprint !== check.jkt) throw new DPoPProofError('key is not the one the token is bound to (cnf.jkt)');
  if (check.nonce !== undefined && p.nonce !== check.nonce) throw new DPoPProofError(p.nonce === undefined ? 'nonce missing' : 'nonce stale');
  return { thumbprint, payload: p, alg: protectedHeader.alg };
}
