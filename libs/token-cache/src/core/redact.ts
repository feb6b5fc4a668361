/**
 * Redaction: removes secret values from text in every encoding an IdP, a proxy or an SDK may echo them in
 * (raw, percent-encoded, form-encoded, JSON-escaped, base64, base64url, and inside a base64 blob such as a
 * Basic credential), and cleans an error (message, stack, OAuth fields, `cause` chain) the same way.
 */

export const REDACTED = '[redacted]';

/** Secrets shorter than this are not redacted: too short to tell from ordinary words. */
const MIN_SECRET_LENGTH = 4;
/** A base64 fragment of a secret inside a larger blob is only matched from this length on. */
const MIN_CORE_LENGTH = 6;

/** JWTs, and whatever follows a `Bearer ` / `Basic ` / `DPoP ` scheme. */
const TOKEN_PATTERNS = [/eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/g, /\b(Bearer|Basic|DPoP)\s+[\w\-.~+/=%]+/gi];

/**
 * Words that follow a scheme name in prose and in challenges ("Bearer tokens.", "DPoP with", `Bearer
 * error="…"`, `Basic realm`), not credentials: left as they are, so messages stay readable. Anything else after
 * a scheme name is taken for a credential.
 */
const PROSE_WORD = new RegExp(
  `^(?:${[
    'a', 'an', 'and', 'are', 'as', 'at', 'attempt', 'auth', 'authentication', 'authorization', 'be', 'bound', 'but', 'by',
    'credential', 'credentials', 'error', 'for', 'from', 'handle', 'header', 'headers', 'if', 'in', 'instead', 'invalid',
    'is', 'it', 'its', 'key', 'keys', 'module', 'needs', 'nonce', 'nonces', 'not', 'of', 'on', 'one', 'only', 'or', 'proof',
    'proofs', 'reads', 'realm', 'scheme', 'server', 'signs', 'so', 'source', 'sources', 'that', 'the', 'then', 'this', 'to',
    'token', 'tokens', 'type', 'types', 'was', 'when', 'with', 'without',
  ].join('|')})[.,;:=]?$`,
  'i',
);

/** RFC 6749 §2.3.1 / oauth4webapi form encoding (what openid-client sends in a Basic credential). */
function oauthFormEncode(value: string): string {
  return encodeURIComponent(value).replace(/(?:[-_.!~*'()]|%20)/g, (m) => (m === '%20' ? '+' : `%${m.charCodeAt(0).toString(16).toUpperCase()}`));
}

/** The textual forms a secret may be echoed in. */
function textForms(secret: string): string[] {
  const percent = [encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2), oauthFormEncode(secret), encodeURI(secret)];
  const lower = percent.map((f) => f.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()));
  const spaced = percent.map((f) => f.replace(/\+/g, '%20'));
  return [secret, JSON.stringify(secret).slice(1, -1), ...percent, ...lower, ...spaced];
}

/**
 * The base64 (and base64url) renderings of `bytes`: the whole value (with and without padding), and, for
 * each of the three byte alignments the value can have inside a larger blob, the characters that depend on
 * its bytes alone. Those cores match the secret inside `base64("client:" + secret)` whatever the prefix.
 */
function base64Forms(bytes: Buffer): string[] {
  const out: string[] = [];
  for (const encoding of ['base64', 'base64url'] as const) {
    out.push(bytes.toString(encoding), bytes.toString(encoding).replace(/=+$/, ''));
    for (let k = 0; k < 3; k++) {
      const shifted = Buffer.concat([Buffer.alloc(k), bytes]).toString(encoding).replace(/=+$/, '');
      const core = shifted.slice(Math.ceil((8 * k) / 6), Math.floor((8 * (k + bytes.length)) / 6));
      if (core.length >= MIN_CORE_LENGTH) out.push(core);
    }
  }
  return out;
}

const formsCache = new Map<string, string[]>();
const FORMS_CACHE_MAX = 512;

/** Every string that reveals `secret`, longest first. */
export function secretForms(secret: string): string[] {
  let forms = formsCache.get(secret);
  if (forms !== undefined) return forms;
  const set = new Set<string>();
  for (const text of textForms(secret)) {
    set.add(text);
    for (const f of base64Forms(Buffer.from(text, 'utf8'))) set.add(f);
  }
  forms = [...set].filter((f) => f.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  if (formsCache.size >= FORMS_CACHE_MAX) formsCache.delete(formsCache.keys().next().value!);
  formsCache.set(secret, forms);
  return forms;
}

/**
 * Removes `secrets` in every form (see secretForms) and anything shaped like a bearer token, Basic credential
 * or JWT from `text`.
 */
export function redact(text: string, secrets: Iterable<string> = []): string {
  let out = text;
  for (const secret of secrets) {
    if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) continue;
    for (const form of secretForms(secret)) if (out.includes(form)) out = out.split(form).join(REDACTED);
  }
  for (const pattern of TOKEN_PATTERNS) {
    out = out.replace(pattern, (m, scheme?: string) => {
      if (typeof scheme !== 'string' || m.startsWith('eyJ')) return REDACTED;
      // "Bearer tokens.", "DPoP with": a word of prose after a scheme name is no credential (a credential that
      // is a known secret was removed above, in every form).
      return PROSE_WORD.test(m.slice(scheme.length).trim()) ? m : `${scheme} ${REDACTED}`;
    });
  }
  return out;
}

/** Whether `text` reveals any of `secrets` (in any form) or holds a JWT or credential. */
export function revealsSecret(text: string, secrets: Iterable<string> = []): boolean {
  return redact(text, secrets) !== text;
}

const ERROR_FIELDS = ['message', 'stack', 'oauthError', 'oauthErrorDescription'] as const;
const MAX_CAUSE_DEPTH = 8;

/**
 * Redacts an error in place, for everything `util.inspect`, a logger or `JSON.stringify` shows of it: its
 * `message`, `stack`, `oauthError` (dropped when it held a secret: it is no error code then),
 * `oauthErrorDescription`, and its `cause` chain. A cause that needs redaction is replaced by a redacted
 * copy (name, message, stack, code and its own cause), so an object the caller owns is never changed.
 */
export function redactError<E extends object>(error: E, secrets: readonly string[]): E {
  redactFields(error, secrets);
  const cause = (error as { cause?: unknown }).cause;
  if (cause !== undefined) {
    const clean = cleanCause(cause, secrets, new Set<unknown>([error]), 0);
    if (clean !== cause) Object.defineProperty(error, 'cause', { value: clean, writable: true, configurable: true, enumerable: false });
  }
  return error;
}

function redactFields(error: object, secrets: readonly string[]): void {
  const fields = error as Record<string, unknown>;
  for (const field of ERROR_FIELDS) {
    const value = fields[field];
    if (typeof value !== 'string') continue;
    const clean = redact(value, secrets);
    if (clean === value) continue;
    const enumerable = Object.getOwnPropertyDescriptor(error, field)?.enumerable ?? false;
    Object.defineProperty(error, field, { value: field === 'oauthError' ? undefined : clean, writable: true, configurable: true, enumerable });
  }
}

/**
 * A cause as it may be shown: itself when nothing in it or below it reveals a secret, else a redacted copy
 * (whose own cause is cleaned the same way). A cycle, or a chain deeper than MAX_CAUSE_DEPTH, ends in a marker.
 */
function cleanCause(cause: unknown, secrets: readonly string[], seen: Set<unknown>, depth: number): unknown {
  if (typeof cause === 'string') return redact(cause, secrets);
  if (cause === null || typeof cause !== 'object') return cause;
  if (seen.has(cause)) return '[circular cause]';
  if (depth >= MAX_CAUSE_DEPTH) return '[deeper causes omitted]';
  seen.add(cause);
  if (!(cause instanceof Error)) {
    let text: string;
    try {
      text = JSON.stringify(cause) ?? '';
    } catch {
      text = String(cause);
    }
    return revealsSecret(text, secrets) ? REDACTED : cause;
  }
  const own = cause as Error & Record<string, unknown>;
  const inner = own.cause === undefined ? undefined : cleanCause(own.cause, secrets, seen, depth + 1);
  const needs =
    inner !== own.cause ||
    revealsSecret(`${own.message}\n${own.stack ?? ''}`, secrets) ||
    Object.keys(own).some((k) => typeof own[k] === 'string' && revealsSecret(own[k] as string, secrets));
  if (!needs) return cause;
  const copy = new Error(redact(String(own.message), secrets));
  Object.defineProperty(copy, 'name', { value: own.name, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(copy, 'stack', { value: redact(own.stack ?? '', secrets), writable: true, configurable: true, enumerable: false });
  for (const k of Object.keys(own)) {
    if (k === 'cause') continue;
    const v = own[k];
    if (typeof v === 'string') (copy as unknown as Record<string, unknown>)[k] = redact(v, secrets);
    else if (typeof v === 'number' || typeof v === 'boolean') (copy as unknown as Record<string, unknown>)[k] = v;
  }
  if (inner !== undefined) Object.defineProperty(copy, 'cause', { value: inner, writable: true, configurable: true, enumerable: false });
  return copy;
}

/** C0/C1 controls, DEL, and the Unicode marks that reorder or break lines (bidi overrides, LS/PS). */
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * A server's text made safe for one log line: each control character (CR, LF, ESC of an ANSI sequence, a
 * bidi override…) written as its `\uXXXX` escape, so an IdP's `error_description` cannot forge log lines or
 * drive a terminal. RFC 6749 §5.2 allows only printable ASCII there anyway.
 */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
