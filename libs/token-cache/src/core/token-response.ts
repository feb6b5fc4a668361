/**
 * Rules for token responses: validating what a source returned, parsing an OAuth token endpoint's JSON,
 * and resolving a token's expiry (expiresAt, then expiresIn, then the JWT `exp`, then the default TTL).
 */
import { TokenResponseError } from './token-cache.errors.js';
import { messages } from './token-cache.messages.js';
import type { TokenResponse } from './token-cache.types.js';

/** Epoch values below this are taken as seconds, not milliseconds (10^11 ms is March 1973). */
const EPOCH_SECONDS_BELOW = 1e11;

/** `expires_in`/`expiresIn` in seconds: a finite number >= 0 or a numeric string; else a TokenResponseError. */
export function parseExpiresIn(value: unknown, source: string): number | undefined {
  // Absent means "not said"; null is a value, and not a number.
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) {
    throw new TokenResponseError(
      messages.badResponse(source, `"expires_in" must be a number of seconds >= 0, got ${typeof value === 'number' ? value : value === null ? 'null' : typeof value}`),
      source,
    );
  }
  return n;
}

/** The `exp` claim of a JWT in epoch ms, or undefined when the token is not a JWT with a numeric `exp`. */
export function jwtExpiresAt(token: string): number | undefined {
  const dot1 = token.indexOf('.');
  if (dot1 <= 0) return undefined;
  const dot2 = token.indexOf('.', dot1 + 1);
  if (dot2 < 0) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(token.slice(dot1 + 1, dot2), 'base64url').toString('utf8'));
    const exp = (payload as { exp?: unknown } | null)?.exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

function epochMs(value: number | Date, source: string): number {
  const ms = value instanceof Date ? value.getTime() : value < EPOCH_SECONDS_BELOW ? value * 1000 : value;
  if (!Number.isFinite(ms)) throw new TokenResponseError(messages.badResponse(source, '"expiresAt" is not a valid date'), source);
  return ms;
}

/** A source's response checked and completed: throws TokenResponseError for anything that can't be cached. */
export interface ValidTokenResponse {
  accessToken: string;
  tokenType: string;
  expiresAt: number;
  scopes?: string[];
  refreshToken?: string;
}

/**
 * Checks a `TokenResponse` and resolves its expiry. Order: `expiresAt`, `expiresIn` (s), the JWT `exp`, `defaultTtlMs`.
 */
export function validateTokenResponse(
  response: unknown,
  source: string,
  receivedAt: number,
  defaultTtlMs: number,
): ValidTokenResponse {
  if (response === null || typeof response !== 'object') {
    throw new TokenResponseError(messages.badResponse(source, `expected an object with "accessToken", got ${response === null ? 'null' : typeof response}`), source);
  }
  const r = response as Partial<Record<keyof TokenResponse, unknown>>;
  if (typeof r.accessToken !== 'string' || r.accessToken.trim() === '') {
    throw new TokenResponseError(messages.badResponse(source, 'no access token in the response'), source);
  }
  if (r.tokenType !== undefined && typeof r.tokenType !== 'string') {
    throw new TokenResponseError(messages.badResponse(source, '"token_type" is not a string'), source);
  }
  let expiresAt: number | undefined;
  if (r.expiresAt !== undefined && r.expiresAt !== null) {
    if (!(r.expiresAt instanceof Date) && typeof r.expiresAt !== 'number') {
      throw new TokenResponseError(messages.badResponse(source, '"expiresAt" must be a Date or epoch milliseconds'), source);
    }
    expiresAt = epochMs(r.expiresAt, source);
  }
  const expiresIn = parseExpiresIn(r.expiresIn, source);
  if (expiresAt === undefined && expiresIn !== undefined) expiresAt = receivedAt + expiresIn * 1000;
  if (expiresAt === undefined) expiresAt = jwtExpiresAt(r.accessToken);
  if (expiresAt === undefined) expiresAt = receivedAt + defaultTtlMs;
  const scope = typeof r.scope === 'string' ? r.scope.split(/\s+/).filter(Boolean) : undefined;
  return {
    accessToken: r.accessToken,
    tokenType: typeof r.tokenType === 'string' && r.tokenType !== '' ? normalizeTokenType(r.tokenType) : 'Bearer',
    expiresAt,
    scopes: scope && scope.length ? scope : undefined,
    refreshToken: typeof r.refreshToken === 'string' ? r.refreshToken : undefined,
  };
}

/** `bearer` (as many servers send it) becomes `Bearer`; other types are kept as sent. */
function normalizeTokenType(type: string): string {
  return type.toLowerCase() === 'bearer' ? 'Bearer' : type;
}

/**
 * Maps an OAuth 2 token endpoint's JSON body (RFC 6749 §5.1) to a `TokenResponse`. Throws TokenResponseError
 * when the body is not a JSON object or has no `access_token`; `expires_in` is checked by `validateTokenResponse`.
 */
export function parseOAuthTokenBody(body: unknown, source: string): TokenResponse {
  let json = body;
  if (typeof body === 'string') {
    try {
      json = JSON.parse(body);
    } catch {
      throw new TokenResponseError(messages.badResponse(source, 'the reply is not JSON (HTML, truncated or empty?)'), source);
    }
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new TokenResponseError(messages.badResponse(source, 'the reply is not a JSON object'), source);
  }
  const o = json as Record<string, unknown>;
  if (typeof o.access_token !== 'string' || o.access_token === '') {
    throw new TokenResponseError(messages.badResponse(source, 'the reply has no "access_token"'), source);
  }
  return {
    accessToken: o.access_token,
    tokenType: typeof o.token_type === 'string' ? o.token_type : undefined,
    expiresIn: parseExpiresIn(o.expires_in, source),
    refreshToken: typeof o.refresh_token === 'string' ? o.refresh_token : undefined,
    scope: typeof o.scope === 'string' ? o.scope : undefined,
  };
}
