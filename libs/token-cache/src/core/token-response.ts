/**
 * Rules for token replies: reading an OAuth token endpoint's body in the dialects real IdPs send (JSON,
 * form-encoded), the `expires_in` grammar, the header-safe token check, `token_type`, and resolving a
 * token's expiry (expiresAt, then expiresIn, then the JWT `exp`, then the default TTL), capped at `maxTtlMs`.
 * Pure functions: the cache and the OAuth sources call them; none of their messages holds a token.
 */
import { TokenResponseError } from './token-cache.errors.js';
import { messages } from './token-cache.messages.js';
import type { TokenResponse } from './token-cache.types.js';

/** Epoch values below this are taken as seconds, not milliseconds (10^11 ms is March 1973). */
const EPOCH_SECONDS_BELOW = 1e11;

/** Default of the cache option `maxTtlMs`: 24 h. */
export const DEFAULT_MAX_TTL_MS = 86_400_000;
/** Default of the cache option `maxTokenBytes`: 16 KiB, the header limit of most servers' single header line. */
export const DEFAULT_MAX_TOKEN_BYTES = 16_384;

const DECIMAL = /^\d+(?:\.\d+)?$/;

function bad(source: string, problem: string): TokenResponseError {
  return new TokenResponseError(messages.badResponse(source, problem), source);
}

/** What a value is, for a message: its type, never its content (it may be a token). */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isFinite(value) ? (value < 0 ? 'a negative number' : 'a number') : String(value);
  if (typeof value === 'string') return value === '' ? 'an empty string' : `a string that is not a plain decimal number`;
  return typeof value;
}

/**
 * A duration field of a reply (`expires_in`, `refresh_in`) in seconds: a finite number >= 0 or a plain
 * decimal string (`"3600"`, `"3599.5"`); `0` and absence are `undefined` ("not said"). Anything else
 * (`"0x10"`, `"1e3"`, `" 3600"`, `"-1"`, `true`, `null`, NaN, Infinity) is a TokenResponseError naming the field.
 * A decimal string too long for a double reads as the largest double, which the `maxTtlMs` cap then bounds.
 */
export function parseDurationSeconds(value: unknown, source: string, field = 'expires_in'): number | undefined {
  if (value === undefined) return undefined;
  let n: number;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) n = value;
  // Finite even for 400 digits: the value is parsed again when the response is validated, and is capped there.
  else if (typeof value === 'string' && DECIMAL.test(value)) n = Math.min(Number(value), Number.MAX_VALUE);
  else throw bad(source, `"${field}" must be a number of seconds >= 0 (a JSON number or a decimal string like "3600"), got ${kindOf(value)}`);
  return n === 0 ? undefined : n;
}

/** `expires_in`/`expiresIn` in seconds (see parseDurationSeconds): `0` counts as absent. */
export function parseExpiresIn(value: unknown, source: string): number | undefined {
  return parseDurationSeconds(value, source, 'expires_in');
}

/** The `exp` and `iat` claims of a JWT in epoch ms (each when it is a finite number); `{}` for anything else. */
export function jwtTimes(token: string): { expMs?: number; iatMs?: number } {
  const dot1 = token.indexOf('.');
  if (dot1 <= 0) return {};
  const dot2 = token.indexOf('.', dot1 + 1);
  if (dot2 < 0) return {};
  try {
    const payload: unknown = JSON.parse(Buffer.from(token.slice(dot1 + 1, dot2), 'base64url').toString('utf8'));
    if (payload === null || typeof payload !== 'object') return {};
    const { exp, iat } = payload as { exp?: unknown; iat?: unknown };
    const out: { expMs?: number; iatMs?: number } = {};
    if (typeof exp === 'number' && Number.isFinite(exp)) out.expMs = exp * 1000;
    if (typeof iat === 'number' && Number.isFinite(iat)) out.iatMs = iat * 1000;
    return out;
  } catch {
    return {};
  }
}

/** The `exp` claim of a JWT in epoch ms, or undefined when the token is not a JWT with a numeric `exp`. */
export function jwtExpiresAt(token: string): number | undefined {
  return jwtTimes(token).expMs;
}

/** RFC 6750 §2.1 `b64token`: what an `Authorization: Bearer` value may hold. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Throws TokenResponseError unless `token` can be sent as an HTTP header value unchanged: RFC 6750
 * `b64token` characters only (no space, CR/LF, control or non-ASCII character) and at most `maxTokenBytes`
 * bytes. The message says where the first bad character is, never what the token is.
 */
export function assertHeaderSafeToken(token: string, source: string, maxTokenBytes = DEFAULT_MAX_TOKEN_BYTES, field = 'access_token'): void {
  if (token.length > maxTokenBytes) {
    throw bad(source, `"${field}" is ${token.length} characters long, more than maxTokenBytes (${maxTokenBytes}); most APIs reject headers that large. Raise the cache option "maxTokenBytes" if the API takes it`);
  }
  if (B64TOKEN.test(token)) return;
  const { at, what } = firstBadCharacter(token);
  throw bad(
    source,
    `"${field}" holds ${what} at position ${at}, so it cannot be sent in an Authorization header unchanged (RFC 6750 b64token: letters, digits, -._~+/ and trailing =). The identity provider sent a malformed token`,
  );
}

const B64CHAR = /[A-Za-z0-9\-._~+/]/;

/**
 * Where a token that is not a `b64token` first goes wrong, and what is there: a misplaced `=` (one that is
 * not trailing, or has nothing before it) is named itself, at its own position; otherwise the first
 * character that is neither a `b64token` character nor part of a trailing run of `=`.
 */
function firstBadCharacter(token: string): { at: number; what: string } {
  if (token.length === 0) return { at: 0, what: 'nothing (an empty string)' };
  let at = 0;
  while (at < token.length && B64CHAR.test(token[at]!)) at++;
  if (token[at] === '=') {
    const run = at;
    while (at < token.length && token[at] === '=') at++;
    if (run === 0 || at === token.length || B64CHAR.test(token[at]!)) {
      return { at: run, what: '"=" (allowed only at the end, as padding after other characters)' };
    }
  }
  const code = token.charCodeAt(at);
  const what =
    code === 13 || code === 10
      ? 'a CR/LF'
      : code === 32 || code === 9
        ? 'whitespace'
        : code < 32 || code === 127
          ? 'a control character'
          : code > 127
            ? 'a non-ASCII character'
            : `"${token[at]}" (not a b64token character)`;
  return { at, what };
}

/**
 * The token type to send: `Bearer` for `bearer` in any case or none; `DPoP` (any case) only when the source
 * binds its tokens with DPoP (`dpop`); any other type (`mac`, `N_A`…) is a TokenResponseError naming it.
 */
export function resolveTokenType(type: unknown, source: string, dpop = false): 'Bearer' | 'DPoP' {
  if (type === undefined || type === null || type === '') return 'Bearer';
  if (typeof type !== 'string') throw bad(source, `"token_type" must be a string, got ${kindOf(type)}`);
  const lower = type.toLowerCase();
  if (lower === 'bearer') return 'Bearer';
  const shown = /^[\x21-\x7E]{1,40}$/.test(type) ? `"${type}"` : 'an unreadable value';
  if (lower === 'dpop') {
    if (dpop) return 'DPoP';
    throw bad(source, `"token_type" is ${shown}, but the source has no "dpop" option: a DPoP-bound token sent as Bearer is rejected by the API. Set "dpop" on the source`);
  }
  throw bad(source, `"token_type" is ${shown}, which this library cannot send (only Bearer, and DPoP with the source's "dpop" option). Ask the identity provider for Bearer tokens`);
}

/** A source's response checked and completed: throws TokenResponseError for anything that can't be cached. */
export interface ValidTokenResponse {
  accessToken: string;
  /** `Bearer` or `DPoP`. */
  tokenType: string;
  /** Epoch ms, a valid date: at most `receivedAt + maxTtlMs`. */
  expiresAt: number;
  /** Epoch ms when the reply arrived (the lifetime runs from here). */
  receivedAt: number;
  /** What decided `expiresAt`. */
  expirySource: 'expiresAt' | 'expiresIn' | 'jwt' | 'default';
  /** `expires_in` in ms as sent (before the cap), when sent and not 0. */
  expiresInMs?: number;
  /** `refresh_in` in ms as sent (capped at `maxTtlMs`), when sent and not 0. */
  refreshInMs?: number;
  /** The JWT's `exp` claim in epoch ms, when the token is a JWT with one. */
  jwtExpMs?: number;
  /** The JWT's `iat` claim in epoch ms, when the token is a JWT with one. */
  jwtIatMs?: number;
  scopes?: string[];
  refreshToken?: string;
}

/** How `validateTokenResponse` checks and completes a response. */
export interface TokenResponseRules {
  /** Lifetime of a token with no expiry information, in ms. */
  defaultTtlMs: number;
  /** Every lifetime is capped at this, in ms. Default 86_400_000 (24 h). */
  maxTtlMs?: number;
  /** Longest token accepted, in bytes. Default 16_384. */
  maxTokenBytes?: number;
  /** The source binds its tokens with DPoP: `token_type: DPoP` is accepted. */
  dpop?: boolean;
}

function epochMs(value: number | Date, source: string): number {
  const ms = value instanceof Date ? value.getTime() : value < EPOCH_SECONDS_BELOW ? value * 1000 : value;
  if (!Number.isFinite(ms)) throw bad(source, '"expiresAt" is not a valid date');
  return ms;
}

/**
 * Checks a `TokenResponse` and resolves its expiry. Order: `expiresAt`, `expiresIn` (s), the JWT `exp`,
 * `defaultTtlMs`; the lifetime is capped at `maxTtlMs`, so `expiresAt` is always a valid date.
 * `rules` may be the default TTL alone (as in 0.1).
 */
export function validateTokenResponse(response: unknown, source: string, receivedAt: number, rules: TokenResponseRules | number): ValidTokenResponse {
  const { defaultTtlMs, maxTtlMs = DEFAULT_MAX_TTL_MS, maxTokenBytes = DEFAULT_MAX_TOKEN_BYTES, dpop = false } =
    typeof rules === 'number' ? { defaultTtlMs: rules } : rules;
  if (response === null || typeof response !== 'object') {
    throw bad(source, `expected an object with "accessToken", got ${kindOf(response)}`);
  }
  const r = response as Partial<Record<keyof TokenResponse, unknown>>;
  if (typeof r.accessToken !== 'string' || r.accessToken === '') {
    throw bad(source, 'no access token in the response');
  }
  const accessToken = r.accessToken;
  assertHeaderSafeToken(accessToken, source, maxTokenBytes);
  const tokenType = resolveTokenType(r.tokenType, source, dpop);
  let expiresAt: number | undefined;
  let expirySource: ValidTokenResponse['expirySource'] = 'expiresAt';
  if (r.expiresAt !== undefined && r.expiresAt !== null) {
    if (!(r.expiresAt instanceof Date) && typeof r.expiresAt !== 'number') {
      throw bad(source, '"expiresAt" must be a Date or epoch milliseconds');
    }
    expiresAt = epochMs(r.expiresAt, source);
  }
  const expiresIn = parseDurationSeconds(r.expiresIn, source, 'expires_in');
  const refreshIn = parseDurationSeconds(r.refreshIn, source, 'refresh_in');
  const jwt = jwtTimes(accessToken);
  if (expiresAt === undefined && expiresIn !== undefined) {
    expiresAt = receivedAt + expiresIn * 1000;
    expirySource = 'expiresIn';
  }
  if (expiresAt === undefined && jwt.expMs !== undefined) {
    expiresAt = jwt.expMs;
    expirySource = 'jwt';
  }
  if (expiresAt === undefined) {
    expiresAt = receivedAt + defaultTtlMs;
    expirySource = 'default';
  }
  // 1e20 s, a 400-digit string, an expiresAt in the year 275760: a lifetime no cache or Redis TTL can hold.
  if (!(expiresAt <= receivedAt + maxTtlMs)) expiresAt = receivedAt + maxTtlMs;
  const scope = typeof r.scope === 'string' ? r.scope.split(/\s+/).filter(Boolean) : undefined;
  const out: ValidTokenResponse = { accessToken, tokenType, expiresAt, receivedAt, expirySource };
  if (expiresIn !== undefined) out.expiresInMs = expiresIn * 1000;
  if (refreshIn !== undefined) out.refreshInMs = Math.min(refreshIn * 1000, maxTtlMs);
  if (jwt.expMs !== undefined) out.jwtExpMs = jwt.expMs;
  if (jwt.iatMs !== undefined) out.jwtIatMs = jwt.iatMs;
  if (scope && scope.length) out.scopes = scope;
  if (typeof r.refreshToken === 'string') out.refreshToken = r.refreshToken;
  return out;
}

// ------------------------------------------------------------------ the wire

/** Media types read as `application/x-www-form-urlencoded` (as golang/oauth2 does: older GitHub, Azure AD v1 and others). */
const FORM_TYPES = new Set(['application/x-www-form-urlencoded', 'text/plain']);

function mediaType(contentType: string | null | undefined): string {
  if (!contentType) return '';
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/** Looks like a form body: `name=value` pairs joined by `&`, nothing JSON- or HTML-like. */
const FORM_SHAPE = /^[\w.~%+-]+=[^&\s<>{}"]*(?:&[\w.~%+-]+=[^&\s<>{}"]*)*$/;

/**
 * The fields of a token endpoint's reply body, read in its dialect: JSON (the RFC 6749 §5.1 dialect), or
 * `application/x-www-form-urlencoded` / `text/plain` form pairs (the first value of a repeated name wins).
 * A `text/plain` body that starts with `{` is read as JSON. Throws TokenResponseError when the body is
 * neither a JSON object nor a form, saying what it looks like.
 */
export function parseTokenEndpointBody(text: string, contentType: string | null | undefined, source: string): Record<string, unknown> {
  // The common case (a JSON media type) goes straight to JSON.parse: no copy of the body.
  if (contentType != null && contentType.startsWith('application/json') && (contentType.length === 16 || contentType[16] === ';')) {
    return parseJsonObject(text, 'application/json', source);
  }
  const type = mediaType(contentType);
  if (type !== '' && !FORM_TYPES.has(type)) return parseJsonObject(text, type, source);
  const trimmed = text.trim();
  const form = type !== '' && trimmed[0] !== '{';
  if (form || (type === '' && FORM_SHAPE.test(trimmed))) {
    if (trimmed === '') throw bad(source, 'the reply body is empty');
    const out: Record<string, unknown> = {};
    for (const [name, value] of new URLSearchParams(trimmed)) if (!Object.hasOwn(out, name)) out[name] = value;
    return out;
  }
  return parseJsonObject(text, type, source);
}

function parseJsonObject(text: string, type: string, source: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw bad(source, notJson(text.trim(), type));
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw bad(source, `the reply is JSON but not an object (got ${kindOf(json)}); expected an RFC 6749 token reply`);
  }
  return json as Record<string, unknown>;
}

function notJson(trimmed: string, type: string): string {
  const declared = type === '' ? 'no Content-Type' : `Content-Type ${/^[\w.+/-]{1,80}$/.test(type) ? type : 'unreadable'}`;
  if (trimmed === '') return `the reply body is empty (${declared}). Check "tokenUrl": it must be the token endpoint`;
  if (trimmed.startsWith('<')) return `the reply is HTML or XML, not a token reply (${declared}): "tokenUrl" probably points at a login page or a proxy's error page`;
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) return `the reply is truncated or malformed JSON (${declared})`;
  return `the reply is neither JSON nor form-encoded (${declared}). Check "tokenUrl"`;
}

/** Whether reply fields are an error reply (RFC 6749 §5.2): an `error` member that is not null or empty. */
export function isErrorReply(fields: Record<string, unknown>): boolean {
  const e = fields.error;
  return e !== undefined && e !== null && e !== '';
}

/**
 * Maps the fields of a successful token reply (RFC 6749 §5.1) to a `TokenResponse`. Throws TokenResponseError
 * when `access_token` is missing or `expires_in` / `refresh_in` break the grammar; the token itself is
 * checked by `validateTokenResponse`.
 */
export function tokenResponseFromFields(o: Record<string, unknown>, source: string): TokenResponse {
  if (typeof o.access_token !== 'string' || o.access_token === '') {
    throw bad(source, o.access_token === undefined ? 'the reply has no "access_token"' : `"access_token" is ${kindOf(o.access_token)}, not a non-empty string`);
  }
  const type = o.token_type;
  if (type !== undefined && type !== null && typeof type !== 'string') throw bad(source, `"token_type" must be a string, got ${kindOf(type)}`);
  const expiresIn = parseDurationSeconds(fromWire(o.expires_in), source, 'expires_in');
  // One literal (one object shape) for every reply; absent fields are undefined.
  return {
    accessToken: o.access_token,
    tokenType: typeof type === 'string' ? type : undefined,
    expiresIn,
    // Not in RFC 6749, sent by some token services: read only when expires_in is absent (or 0), since an
    // absolute time is read on the IdP's clock and expires_in is immune to a skew between the clocks.
    expiresAt: expiresIn === undefined ? replyExpiresAt(o, source) : undefined,
    refreshToken: typeof o.refresh_token === 'string' && o.refresh_token !== '' ? o.refresh_token : undefined,
    scope: typeof o.scope === 'string' ? o.scope : undefined,
    refreshIn: o.refresh_in === undefined ? undefined : parseDurationSeconds(fromWire(o.refresh_in), source, 'refresh_in'),
  };
}

/**
 * A duration as the reply sent it: a JSON number literal too large for a double (`1e400`, 400 digits) is
 * parsed as Infinity, but was a valid, huge number of seconds; it reads as the largest double, as the same
 * digits in a string do, and the `maxTtlMs` cap then bounds it.
 */
const fromWire = (value: unknown): unknown => (value === Number.POSITIVE_INFINITY ? Number.MAX_VALUE : value);

/** RFC 3339 §5.6 `date-time`: `T` (or `t`) between date and time, an offset with a colon, or `Z`. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

/** Epoch ms of an RFC 3339 `date-time` whose every field is in range (no 30 February, no 24:00), else undefined. */
function parseRfc3339(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second, offsetHour = 0, offsetMinute = 0] = [1, 2, 3, 4, 5, 6, 8, 9].map((i) => Number(m[i] ?? 0)) as number[];
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  if (month! < 1 || month! > 12 || day! < 1 || day! > daysInMonth || hour! > 23 || minute! > 59 || second! > 60 || offsetHour > 23 || offsetMinute > 59) return undefined;
  const at = Date.parse(text.replace(/t/, 'T').replace(/z$/, 'Z'));
  return Number.isNaN(at) ? undefined : at;
}

/**
 * A reply's `expires_at` (or `expiresAt`): epoch seconds, or epoch milliseconds from 10^11 (a number > 0 or a
 * plain decimal string), or an RFC 3339 date-time with its offset. Undefined when absent; anything else (null,
 * an empty string, surrounding spaces, a date out of range…) is a TokenResponseError naming the field (the
 * reply is not cached), as for `expires_in`.
 */
function replyExpiresAt(o: Record<string, unknown>, source: string): number | Date | undefined {
  const field = o.expires_at !== undefined ? 'expires_at' : 'expiresAt';
  const value = o[field];
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
  if (typeof value === 'string') {
    if (/^\d+(\.\d+)?$/.test(value) && Number(value) > 0) return Number(value);
    const at = parseRfc3339(value);
    if (at !== undefined) return new Date(at);
  }
  const got =
    typeof value === 'number'
      ? Number.isFinite(value)
        ? 'a number that is not after 1970'
        : String(value)
      : typeof value === 'string' && value !== ''
        ? 'a string that is neither a decimal number nor an RFC 3339 date-time that exists'
        : kindOf(value);
  throw bad(source, `"${field}" must be epoch seconds or milliseconds (after 1970), or an RFC 3339 date-time with its offset (2030-03-17T10:00:00Z), got ${got}`);
}

/**
 * Maps an OAuth 2 token endpoint's body (a JSON string, form-encoded text with its `contentType`, or an
 * already parsed object) to a `TokenResponse`. Throws TokenResponseError when it is neither a JSON object
 * nor a form, has no `access_token`, or has a bad `expires_in`; an error reply (`error` set) is a
 * TokenResponseError here too: the OAuth sources turn it into a TokenFetchError before calling this.
 */
export function parseOAuthTokenBody(body: unknown, source: string, contentType?: string | null): TokenResponse {
  let fields: Record<string, unknown>;
  if (typeof body === 'string') fields = parseTokenEndpointBody(body, contentType, source);
  else if (body !== null && typeof body === 'object' && !Array.isArray(body)) fields = body as Record<string, unknown>;
  else throw bad(source, `the reply is not a JSON object (got ${kindOf(body)})`);
  if (isErrorReply(fields)) throw bad(source, 'the reply is an OAuth error reply ("error" is set), not a token');
  return tokenResponseFromFields(fields, source);
}
