import { TokenCacheConfigError } from '../token-cache.errors.js';
import { messages } from '../token-cache.messages.js';
import type { TokenRequest } from '../token-cache.types.js';

/**
 * Throws TokenCacheConfigError naming `subjectToken` when a request for a source that cannot use one
 * (client credentials, a static token, a token file) carries one: each subject token would be its own cache
 * key for an identical token, an IdP fetch per user. Sends nothing.
 */
export function assertNoSubjectToken(request: TokenRequest, kind: string): void {
  if (request.subjectToken !== undefined) throw new TokenCacheConfigError('subjectToken', messages.subjectTokenNotUsed(request.source, kind));
}
