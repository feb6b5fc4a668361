/**
 * What a failed fetch becomes before it reaches a caller, an event, a log line or a health reply: a typed
 * error (our own pass through; anything else a source throws becomes a `TokenFetchError`) with every known
 * secret removed.
 */
import { redactError } from './redact.js';
import { TokenCacheError, TokenFetchError } from './token-cache.errors.js';
import { messages } from './token-cache.messages.js';

/**
 * The typed, redacted error of a failed fetch of `source`. `known`: the values to remove wherever they appear
 * (in any encoding, redact.ts): every source's secrets, the tokens the cache holds, the caller's subject
 * token. A source redacts its own secrets, but an IdP or a login SDK may echo another source's secret or a
 * token the cache holds (a login SDK repeating the session it failed to renew). JWTs and Bearer/Basic
 * credentials are removed by pattern whatever their source.
 */
export function typedFetchError(error: unknown, source: string, known: readonly string[]): TokenCacheError {
  if (error instanceof TokenCacheError) return redactError(error, known);
  const e = error as { message?: unknown };
  const detail = typeof e?.message === 'string' && e.message !== '' ? e.message : String(error);
  return redactError(new TokenFetchError(messages.fetchFailed(source, detail), { source, retryable: true }), known);
}
