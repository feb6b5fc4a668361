/**
 * The subject token of an on-behalf-of request (RFC 8693): never kept, only its digest (for the cache key)
 * and its JWT `exp` (the exchanged token is not used past it).
 */
import { hash } from 'node:crypto';
import { TokenCacheConfigError } from './token-cache.errors.js';
import { messages } from './token-cache.messages.js';

/**
 * Where an HTTP client takes the subject token of each request from: a fixed string, or a function called
 * per request (the Nest layer's `'incoming'` reads the bearer token of the request being handled).
 */
export type SubjectTokenOption = string | (() => string | undefined);

/**
 * The subject token for one request. A function that finds none (no incoming bearer token) is a
 * TokenCacheConfigError naming `subjectToken`, thrown before anything is sent.
 */
export function resolveSubjectToken(option: SubjectTokenOption | undefined, source: string): string | undefined {
  if (option === undefined || typeof option === 'string') return option;
  const value = option();
  if (typeof value !== 'string' || value === '') throw new TokenCacheConfigError('subjectToken', messages.noSubjectToken(source));
  return value;
}

/**
 * Digests of the subject tokens seen last (at most MAX_RECENT_DIGESTS, oldest dropped first), so a warm
 * on-behalf-of lookup costs a map lookup instead of a SHA-256 of a ~1 KB JWT on every call. Module-private:
 * in this process's memory only, like the request that carried the token; reachable from no cache object,
 * never in a store, an entry or any output.
 */
const recentDigests = new Map<string, string>();
const MAX_RECENT_DIGESTS = 1_000;

/** SHA-256 of the subject token, base64url (43 characters): what the cache key holds instead of the token. */
export function subjectTokenDigest(subjectToken: string): string {
  const known = recentDigests.get(subjectToken);
  if (known !== undefined) return known;
  const digest = hash('sha256', subjectToken, 'base64url');
  if (recentDigests.size >= MAX_RECENT_DIGESTS) recentDigests.delete(recentDigests.keys().next().value!);
  recentDigests.set(subjectToken, digest);
  return digest;
}

/**
 * When the subject token is a JWT with a numeric `exp`: that instant in epoch ms; else undefined (an opaque
 * token, or a JWT without `exp`). The signature is not checked: the IdP checks it, this only bounds our use.
 */
export function subjectTokenExpiresAt(subjectToken: string): number | undefined {
  const parts = subjectToken.split('.');
  if (parts.length !== 3 && parts.length !== 5) return undefined;
  if (parts.length === 5) return undefined; // a JWE: its claims are encrypted
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    const exp = payload !== null && typeof payload === 'object' ? (payload as { exp?: unknown }).exp : undefined;
    return typeof exp === 'number' && Number.isFinite(exp) && exp > 0 ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** `expiresAt` of a token exchanged for `subjectToken`: never later than the subject token's own `exp`. */
export function capBySubjectToken(expiresAt: number, subjectToken: string | undefined): number {
  if (subjectToken === undefined) return expiresAt;
  const limit = subjectTokenExpiresAt(subjectToken);
  return limit !== undefined && limit < expiresAt ? limit : expiresAt;
}
