/**
 * How the HTTP clients present a DPoP-bound token (RFC 9449 §7): `Authorization: DPoP <token>` and a fresh
 * `DPoP` proof for each attempt (`htm`, `htu`, `ath`, the server's nonce), and the reply rules: a 401 whose
 * `DPoP` challenge says `use_dpop_nonce` and that carries a `DPoP-Nonce` is retried once with the same token
 * (nothing invalidated); a nonce sent with any reply is kept for that origin; other rejections are the usual
 * token rejection. A token the IdP issued as `Bearer` (it did not bind it) is sent as a plain Bearer token.
 */
import { asksForDPoPNonce } from './dpop-challenge.js';
import type { DPoPKey } from './dpop-key.js';

/** One attempt as the presentation sees it (shape of the retry core's `TokenAttemptRequest`). */
export interface DPoPAttemptRequest {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** The absolute request URL. */
  readonly url: string;
}

export type DPoPReplyVerdict = 'token-rejected' | 'retry-same-token' | 'accepted';

export interface DPoPPresentationOptions {
  key: DPoPKey;
  /** The header that carries the token. Default `Authorization`. */
  header: string;
  /** What precedes a Bearer token in that header (`'Bearer '`, or `''`), for tokens the IdP did not bind. */
  bearerPrefix: string;
  /** The `token_type` the cache holds for `token` (`'DPoP'`, `'Bearer'`), when known. Unknown counts as DPoP. */
  tokenTypeOf(token: string, request: DPoPAttemptRequest): string | undefined;
}

/** The presentation of a DPoP source's tokens, for the retry core shared by the axios interceptor and `tokenFetch`. */
export function dpopPresentation(options: DPoPPresentationOptions) {
  const { key, header, bearerPrefix, tokenTypeOf } = options;
  const isBearer = (token: string, request: DPoPAttemptRequest) => tokenTypeOf(token, request)?.toLowerCase() === 'bearer';
  return {
    headerNames: [header, 'DPoP'] as readonly string[],
    headers(token: string, request: DPoPAttemptRequest): Record<string, string> | Promise<Record<string, string>> {
      if (isBearer(token, request)) return { [header]: bearerPrefix + token };
      return key.proof({ htm: request.method, url: request.url, accessToken: token }).then((proof) => ({ [header]: `DPoP ${token}`, DPoP: proof }));
    },
    classify(status: number, headerOf: (name: string) => unknown, request?: DPoPAttemptRequest): DPoPReplyVerdict {
      return classifyDPoPReply(key, status, headerOf, request);
    },
  };
}

/**
 * What a reply to a DPoP attempt means. Keeps any `DPoP-Nonce` it carries (RFC 9449 §8.2 lets a server send a
 * new one with any reply); `retry-same-token` for a 401 asking for the nonce it carries (§9); `token-rejected`
 * for another 401 or an `invalid_token` challenge (DPoP or Bearer); else `accepted`.
 */
export function classifyDPoPReply(key: DPoPKey, status: number, headerOf: (name: string) => unknown, request?: DPoPAttemptRequest): DPoPReplyVerdict {
  const nonce = headerOf('dpop-nonce');
  const kept = nonce !== undefined && nonce !== null && request !== undefined && key.nonces.remember(request.url, nonce);
  const challenge = headerOf('www-authenticate');
  if (status === 401 && kept && asksForDPoPNonce(challenge)) return 'retry-same-token';
  if (status === 401) return 'token-rejected';
  if (challenge === undefined || challenge === null) return 'accepted';
  const value = Array.isArray(challenge) ? challenge.join(', ') : String(challenge);
  return /\b(?:DPoP|Bearer)\b/i.test(value) && /\berror\s*=\s*"?invalid_token\b/i.test(value) ? 'token-rejected' : 'accepted';
}
