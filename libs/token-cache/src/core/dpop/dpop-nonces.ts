/**
 * The DPoP nonces servers handed out, per origin (RFC 9449 §8, §9): the latest `DPoP-Nonce` a server sent is
 * put in every later proof for that origin until it sends another. Bounded, least recently used dropped.
 */

/** RFC 9449 §8.1: `nonce = 1*NQCHAR`, printable ASCII without `"` and `\`. */
const NONCE = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
/** Longer values are not nonces worth keeping (and bound the memory). */
const MAX_NONCE_LENGTH = 1024;

export class DPoPNonces {
  private readonly byOrigin = new Map<string, string>();

  /** Default 100 origins, as oauth4webapi keeps. */
  constructor(private readonly maxOrigins = 100) {}

  /** The nonce last sent by the origin of `url`, or undefined. */
  get(url: URL | string): string | undefined {
    const origin = originOf(url);
    if (origin === undefined) return undefined;
    const nonce = this.byOrigin.get(origin);
    if (nonce !== undefined && this.byOrigin.size > 1) {
      this.byOrigin.delete(origin);
      this.byOrigin.set(origin, nonce);
    }
    return nonce;
  }

  /**
   * Keeps the `DPoP-Nonce` header value a reply from `url` carried; ignores absent and malformed values.
   * True when a (valid) nonce was given.
   */
  remember(url: URL | string, nonce: unknown): boolean {
    const value = Array.isArray(nonce) ? nonce[nonce.length - 1] : nonce;
    if (typeof value !== 'string') return false;
    const trimmed = value.trim();
    if (trimmed.length > MAX_NONCE_LENGTH || !NONCE.test(trimmed)) return false;
    const origin = originOf(url);
    if (origin === undefined) return false;
    this.byOrigin.delete(origin);
    if (this.byOrigin.size >= this.maxOrigins) this.byOrigin.delete(this.byOrigin.keys().next().value!);
    this.byOrigin.set(origin, trimmed);
    return true;
  }

  get size(): number {
    return this.byOrigin.size;
  }
}

function originOf(url: URL | string): string | undefined {
  if (url instanceof URL) return url.origin;
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
