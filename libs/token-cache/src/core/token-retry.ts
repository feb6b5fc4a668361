/**
 * The 401 retry shared by the HTTP clients (the axios adapter wrapper and `tokenFetch`): which replies reject a
 * token, which bodies can be sent twice, how a token is presented on an attempt, and the one renewal per
 * rejected token that many concurrent 401s share. Knows nothing of axios or fetch.
 */
import { cacheKey } from './cache-key.js';
import type { TokenCache } from './token-cache.js';
import type { TokenParams } from './token-cache.types.js';

/** The part of the cache the HTTP clients use; a `TokenCache` or `TokenCacheService`. */
export type TokenCacheLike = Pick<TokenCache, 'getToken' | 'invalidate'> & Partial<Pick<TokenCache, 'peek' | 'warmToken' | 'dpopKey'>>;

/** A 401, or any reply whose `WWW-Authenticate` carries a Bearer challenge with `error="invalid_token"` (RFC 6750 §3.1). */
export function isTokenRejected(status: number, wwwAuthenticate: unknown): boolean {
  if (status === 401) return true;
  if (wwwAuthenticate === undefined || wwwAuthenticate === null || wwwAuthenticate === false) return false;
  const value = Array.isArray(wwwAuthenticate) ? wwwAuthenticate.join(', ') : String(wwwAuthenticate);
  return /\bBearer\b/i.test(value) && /\berror\s*=\s*"?invalid_token\b/i.test(value);
}

/**
 * Whether a request body can be sent a second time. A stream (node `Readable`, the `form-data` package, a web
 * `ReadableStream`, any async iterable) is consumed by the first attempt; everything else (strings, buffers,
 * typed arrays, `ArrayBuffer`, `DataView`, `URLSearchParams`, `Blob`, spec `FormData`, plain objects) can be
 * sent again as it is.
 */
export function isReplayableBody(data: unknown): boolean {
  if (data === undefined || data === null) return true;
  const type = typeof data;
  if (type !== 'object' && type !== 'function') return true;
  const body = data as { pipe?: unknown; getReader?: unknown; [Symbol.asyncIterator]?: unknown };
  if (typeof body.pipe === 'function') return false;
  if (typeof body.getReader === 'function') return false;
  if (typeof body[Symbol.asyncIterator] === 'function') return false;
  return true;
}

/** The header value for a token: `<scheme> <token>`, or the bare token when `scheme` is empty. */
export function headerPrefix(scheme: string): string {
  return scheme === '' ? '' : `${scheme} `;
}

/** What one attempt is, as a presentation scheme sees it (DPoP signs `method` and `url`). */
export interface TokenAttemptRequest {
  /** Upper-case HTTP method. */
  method: string;
  /** The absolute request URL. */
  url: string;
  /** The cache key fields of the attempt's token (DPoP reads the token's type with them). */
  params?: TokenParams;
}

/**
 * How a token is put on an attempt. The default presents it in one header (`Authorization: Bearer <token>`);
 * a proof-of-possession scheme (DPoP, RFC 9449) adds headers of its own per attempt, and may ask for one
 * retry with the same token (`use_dpop_nonce`) instead of a renewal.
 */
export interface TokenPresentation {
  /**
   * The header names this scheme owns: a request that already has the first one is left alone; on every
   * attempt the clients clear them all before setting what `headers` returns, so no header of an earlier
   * attempt (a DPoP proof over a rejected token) is ever sent again.
   */
  readonly headerNames: readonly string[];
  /** The headers of an attempt that carries `token`. Synchronous for the hot path when it can be. */
  headers(token: string, request: TokenAttemptRequest): Record<string, string> | Promise<Record<string, string>>;
  /**
   * What a reply means for the token its attempt carried; called for every reply when present (a scheme may
   * keep something a reply carries, such as a DPoP nonce). Default: `token-rejected` per `isTokenRejected`.
   */
  classify?(status: number, header: (name: string) => unknown, request: TokenAttemptRequest): ReplyVerdict;
}

/**
 * `token-rejected`: invalidate exactly the token sent, retry once with the next one. `retry-same-token`: retry
 * once with the same token (the scheme's own reason, e.g. a DPoP nonce), nothing invalidated. `accepted`: the
 * reply goes to the caller.
 */
export type ReplyVerdict = 'token-rejected' | 'retry-same-token' | 'accepted';

/** Whether a presentation's headers (or another maybe-async value) came as a promise: the sync case goes on without waiting a turn. */
export function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** `Authorization: Bearer <token>`, or `<header>: <scheme> <token>` as configured. */
export function headerPresentation(header: string, scheme: string): TokenPresentation {
  const prefix = headerPrefix(scheme);
  return {
    headerNames: [header],
    headers: (token) => ({ [header]: prefix + token }),
  };
}

/** The verdict of the default presentation, or of `presentation.classify` when it has one. */
export function verdictOf(
  presentation: TokenPresentation,
  status: number,
  header: (name: string) => unknown,
  request: TokenAttemptRequest,
): ReplyVerdict {
  if (presentation.classify !== undefined) return presentation.classify(status, header, request);
  // Two cheap tests first: most replies are neither 401 nor carry a challenge.
  if (status === 401) return 'token-rejected';
  const challenge = header('www-authenticate');
  return challenge !== undefined && challenge !== null && isTokenRejected(status, challenge) ? 'token-rejected' : 'accepted';
}

/**
 * What to do with a reply: `retry` (send again, with `renew` first when the token was rejected), `invalidate`
 * (the token was rejected but the body can't be sent again: drop the token, hand the reply back), or
 * `return`. An attempt that was already a retry never retries nor invalidates again (RFC 6750 gives no
 * second chance, and a loop would hammer the IdP).
 */
export function retryDecision(verdict: ReplyVerdict, retried: boolean, replayable: boolean): 'renew-and-retry' | 'retry' | 'invalidate' | 'return' {
  if (verdict === 'accepted' || retried) return 'return';
  if (verdict === 'retry-same-token') return replayable ? 'retry' : 'return';
  return replayable ? 'renew-and-retry' : 'invalidate';
}

/**
 * The cache side of one client: hands out tokens and, after a rejection, invalidates exactly the token that
 * was handed out (compare-and-invalidate) and gets the next one. Concurrent renewals for one (key, token)
 * share one invalidate-and-get, so N requests rejected with one token make one `invalidate` and (through the
 * cache's single flight) one fetch; a late rejection of a token already replaced fetches nothing.
 */
export class TokenRenewal {
  private readonly renewing = new Map<string, Promise<string>>();

  constructor(
    private readonly cache: TokenCacheLike,
    readonly source: string,
  ) {}

  /** The token for a first attempt: the string itself when a warm one is at hand (no await), else a promise. */
  acquire(params: TokenParams | undefined): string | Promise<string> {
    const warm = this.cache.warmToken?.(this.source, params);
    return warm !== undefined ? warm : this.cache.getToken(this.source, params);
  }

  /** Invalidates `rejected` (if still cached) and resolves with the token to retry with; rejects when none can be had. */
  renew(params: TokenParams | undefined, rejected: string): Promise<string> {
    const id = `${cacheKey(this.source, params)}\n${rejected}`;
    let renewal = this.renewing.get(id);
    if (renewal === undefined) {
      renewal = this.invalidate(params, rejected).then(() => this.cache.getToken(this.source, params));
      this.renewing.set(id, renewal);
      const done = () => this.renewing.delete(id);
      renewal.then(done, done);
    }
    return renewal;
  }

  /** Drops `rejected` when it is still the cached token; a store that can't be reached is not the caller's error. */
  async invalidate(params: TokenParams | undefined, rejected: string): Promise<void> {
    try {
      await this.cache.invalidate(this.source, params, rejected);
    } catch {
      // The next getToken reports the store's trouble itself, if any.
    }
  }
}
