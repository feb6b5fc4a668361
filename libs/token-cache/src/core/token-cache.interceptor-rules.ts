/** The rules of the 401 retry, as small pure functions: when a token was rejected, and when a body can be sent again. */

/** A 401, or any reply whose `WWW-Authenticate` carries a Bearer challenge with `error="invalid_token"` (RFC 6750 §3.1). */
export function isTokenRejected(status: number, wwwAuthenticate: unknown): boolean {
  if (status === 401) return true;
  if (wwwAuthenticate === undefined || wwwAuthenticate === null || wwwAuthenticate === false) return false;
  const value = Array.isArray(wwwAuthenticate) ? wwwAuthenticate.join(', ') : String(wwwAuthenticate);
  return /\bBearer\b/i.test(value) && /\berror\s*=\s*"?invalid_token\b/i.test(value);
}

/**
 * Whether a request body can be sent a second time. A stream (node `Readable`, the `form-data` package, a web
 * `ReadableStream`, any async iterable) is consumed by the first attempt; everything else axios sends
 * (strings, buffers, typed arrays, `URLSearchParams`, `Blob`, spec `FormData`, plain objects) is re-serialisable.
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

/** The token a request sent, read back from its header value; undefined when the value is not ours. */
export function sentToken(value: unknown, prefix: string): string | undefined {
  if (typeof value !== 'string' || !value.startsWith(prefix) || value.length === prefix.length) return undefined;
  return value.slice(prefix.length);
}
