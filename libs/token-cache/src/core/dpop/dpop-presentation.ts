/**
 * How the HTTP clients present a DPoP-bound token (RFC 9449 §7): `Authorization: DPoP <token>` and a fresh
 * `DPoP` proof for each attempt (`htm`, `htu`, `ath`, the server's nonce), and the reply rules: a 401 whose
 * `DPoP` challenge says `use_dpop_nonce` and that carries a `DPoP-Nonce` is retried once with the same token
 * (nothing invalidated); a nonce sent with any reply is kept for that origin; other rejections are the usual
 * token rejection. A token the IdP issued as `Bearer` (it did not bind it) is sent as a plain Bearer token.
 */
import type { TokenAttemptRequest, TokenCacheLike, TokenPresentation, ReplyVerdict } from '../token-retry.js';
import { asksForDPoPNonce } from './dpop-challenge.js';
import type { DPoPKey } from './dpop-key.js';

export interface DPoPPresentationOptions {
  key: DPoPKey;
  /** The header that carries the token. Default `Authorization`. */
  header: string;
  /** How a token the IdP did not bind (`token_type: Bearer`) is sent: the client's configured presentation. */
  fallback: TokenPresentation;
  /** The `token_type` the cache holds for `token` (`'DPoP'`, `'Bearer'`), when known. Unknown counts as DPoP. */
  tokenTypeOf(token: string, request: TokenAttemptRequest): string | undefined;
}

/** The presentation of a DPoP source's tokens, for the retry core shared by the axios interceptor and `tokenFetch`. */
export function dpopPresentation(options: DPoPPresentationOptions): TokenPresentation {
  const { key, header, fallback, tokenTypeOf } = options;
  return {
    headerNames: [header, 'DPoP'],
    headers(token, request) {
      if (tokenTypeOf(token, request)?.toLowerCase() === 'bearer') return fallback.headers(token, request);
      return key.proof({ htm: request.method, url: request.url, accessToken: token }).then((proof) => ({ [header]: `DPoP ${token}`, DPoP: proof }));
    },
    classify: (status, headerOf, request) => classifyDPoPReply(key, status, headerOf, request),
  };
}

/**
 * The presentation a client of `source` uses: the DPoP one when the source has a DPoP key, else `fallback`
 * (the configured header and scheme). The token's type is read from the cache (`peek`) with the attempt's key.
 */
export function presentationFor(cache: TokenCacheLike, source: string, header: string, fallback: TokenPresentation): TokenPresentation {
  const key = cache.dpopKey?.(source);
  if (key === undefined) return fallback;
  return dpopPresentation({
    key,
    header,
    fallback,
    tokenTypeOf(token, request) {
      const cached = cache.peek?.(source, request.params);
      return cached !== undefined && cached.accessToken === token ? cached.tokenType : undefined;
    },
  });
}

/**
 * What a reply to a DPoP attempt means. Keeps any `DPoP-Nonce` it carries (RFC 9449 §8.2 lets a server send a
 * new one with any reply); `retry-same-token` for a 401 asking for the nonce it carries (§9); `token-rejected`
 * for another 401 or an `invalid_token` challenge (DPoP or Bearer); else `accepted`.
 */
export function classifyDPoPReply(key: DPoPKey, status: number, headerOf: (name: string) => unknown, request?: Pick<TokenAttemptRequest, 'url'>): ReplyVerdict {
  const nonce = headerOf('dpop-nonce');
  const kept = nonce !== undefined && nonce !== null && request !== undefined && key.nonces.remember(request.url, nonce);
  const challenge = headerOf('www-authenticate');
  if (status === 401 && kept && asksForDPoPNonce(challenge)) return 'retry-same-token';
  if (status === 401) return 'token-rejected';
  if (challenge === undefined || challenge === null) return 'accepted';
  const value = Array.isArray(challenge) ? challenge.join(', ') : String(challenge);
  return /\b(?:DPoP|Bearer)\b/i.test(value) && /\berror\s*=\s*"?invalid_token\b/i.test(value) ? 'token-rejected' : 'accepted';
}
