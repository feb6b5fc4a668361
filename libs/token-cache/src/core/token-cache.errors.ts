/** Typed errors of the token cache. Messages come from token-cache.messages.ts and never hold a secret. */

/** Base class: `instanceof TokenCacheError` catches every error this package throws. */
export class TokenCacheError extends Error {
  override readonly name: string = 'TokenCacheError';
}

/** A bad option, thrown when the cache (or the app) starts. `option` names it, e.g. `maxEntries`. */
export class TokenCacheConfigError extends TokenCacheError {
  override readonly name = 'TokenCacheConfigError';
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(message);
  }
}

/** `getToken('x')` for a source that is not configured. */
export class UnknownTokenSourceError extends TokenCacheError {
  override readonly name = 'UnknownTokenSourceError';
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(message);
  }
}

export interface TokenFetchErrorDetails {
  source?: string;
  /** HTTP status of the token endpoint's reply, where there was one. */
  status?: number;
  /** RFC 6749 §5.2 `error` code, e.g. `invalid_client`. */
  oauthError?: string;
  /** RFC 6749 §5.2 `error_description`, where the endpoint sent one. */
  oauthErrorDescription?: string;
  /** Whether retrying later may help (5xx, 429, network, timeout). Default true. */
  retryable?: boolean;
  /** A `Retry-After` the endpoint asked for, in ms. */
  retryAfterMs?: number;
  cause?: unknown;
}

/** The token could not be fetched: a timeout, a network error, or a non-2xx reply. */
export class TokenFetchError extends TokenCacheError {
  override readonly name = 'TokenFetchError';
  readonly source?: string;
  readonly status?: number;
  readonly oauthError?: string;
  readonly oauthErrorDescription?: string;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  constructor(message: string, details: TokenFetchErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.source = details.source;
    this.status = details.status;
    this.oauthError = details.oauthError;
    this.oauthErrorDescription = details.oauthErrorDescription;
    this.retryable = details.retryable ?? true;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** The token endpoint answered 2xx but the reply can't be used (not JSON, no access_token, bad expires_in). */
export class TokenResponseError extends TokenCacheError {
  override readonly name = 'TokenResponseError';
  constructor(
    message: string,
    readonly source?: string,
  ) {
    super(message);
  }
}

/** `{ name, message }` of an error, safe to put in events and health details. */
export function describeError(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

/** Redaction lives in redact.ts; re-exported here for the modules that import it with the errors. */
export { redact } from './redact.js';
