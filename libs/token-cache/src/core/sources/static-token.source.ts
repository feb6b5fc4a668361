/** A source that always answers with one fixed token: API keys, and tests of apps that use the cache. */
import { assertNoSubjectToken } from './subject-token-unused.js';
import { TokenCacheConfigError } from '../token-cache.errors.js';
import { messages } from '../token-cache.messages.js';
import type { TokenRequest } from '../token-cache.types.js';
import { MIN_TOKEN_LIFETIME_MS } from '../token-timing.js';
import { assertOptionalString, assertOptionsObject, describeValue } from '../validate.js';
import { STATIC_TOKEN_OPTION_NAMES } from './source-options.js';
import type { TokenSource } from './token-source.interface.js';

export interface StaticTokenOptions {
  /** The `token_type` the cache hands out with the token. Default `'Bearer'`. */
  tokenType?: string;
  /**
   * Lifetime in seconds (as OAuth's `expires_in`, at least 1), counted from each time the cache takes the token. Default:
   * the JWT `exp` claim when the token is a JWT, else the cache's `defaultTtlMs`. The cache takes the same
   * token again when it runs out, so no call ever fails for lack of a token.
   */
  expiresIn?: number;
}

/** RFC 6750 §2.1 `b64token`, as the cache checks every token it is handed. */
const HEADER_SAFE = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * `staticToken(token, { tokenType?, expiresIn? }?)`: a source whose every fetch returns `token`. For APIs that
 * take a fixed key as a bearer token, and for tests that must not call an identity provider. The token is
 * checked like any token reply (header-safe, within `maxTokenBytes`) when it is first fetched, and it is
 * treated as a secret: never in a message, log, event, stat or health detail.
 *
 * @throws TokenCacheConfigError `staticToken` when `token` is not a non-empty header-safe string,
 *   `staticToken.expiresIn` when it is not a finite number of at least 1 (second), `staticToken.tokenType` when not `'Bearer'`, `staticToken.<name>` for an unknown option.
 */
export function staticToken(token: string, options: StaticTokenOptions = {}): TokenSource {
  if (typeof token !== 'string' || token.trim() === '') {
    // describeValue never shows a string's content, so a mistyped token does not leak here.
    throw new TokenCacheConfigError('staticToken', messages.config('staticToken', `expected the token as a non-empty string, got ${describeValue(token)}`));
  }
  if (!HEADER_SAFE.test(token)) {
    throw new TokenCacheConfigError(
      'staticToken',
      messages.config(
        'staticToken',
        'the token holds a character an Authorization header cannot carry unchanged (RFC 6750 b64token: letters, digits, -._~+/ and trailing =): ' +
          'whitespace, a line break (a file read without trim()?), quotes or a non-ASCII character',
      ),
    );
  }
  assertOptionsObject('staticToken', options, STATIC_TOKEN_OPTION_NAMES);
  const { tokenType, expiresIn } = options;
  assertOptionalString('staticToken.tokenType', tokenType);
  if (tokenType !== undefined && tokenType.toLowerCase() !== 'bearer') {
    throw new TokenCacheConfigError(
      'staticToken.tokenType',
      messages.config('staticToken.tokenType', "expected 'Bearer' (the only type a static token is sent as; for another header scheme use the client's \"scheme\" option)"),
    );
  }
  if (expiresIn !== undefined && (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn < MIN_TOKEN_LIFETIME_MS / 1000)) {
    throw new TokenCacheConfigError(
      'staticToken.expiresIn',
      messages.config('staticToken.expiresIn', `expected a number of seconds, at least ${MIN_TOKEN_LIFETIME_MS / 1000} (the shortest token lifetime), got ${describeValue(expiresIn)}`),
    );
  }
  return {
    kind: 'static',
    fetchToken: async (request: TokenRequest) => {
      assertNoSubjectToken(request, 'static');
      return { accessToken: token, tokenType, expiresIn };
    },
    secrets: () => [token],
  };
}
