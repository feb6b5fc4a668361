import { TokenCacheConfigError } from '../token-cache.errors.js';
import { messages } from '../token-cache.messages.js';
import { assertLifetimeMs, assertOptionsObject, assertTimerMs } from '../validate.js';
import { TOKEN_FUNCTION_OPTION_NAMES } from './source-options.js';
import type { TokenRequest, TokenResponse } from '../token-cache.types.js';
import type { TokenSource } from './token-source.interface.js';

export type TokenFunction = (
  request: TokenRequest,
  context: { signal: AbortSignal },
) => Promise<TokenResponse | string> | TokenResponse | string;

export interface TokenFunctionOptions {
  /** Lifetime of a token that carries no expiry (a bare string that is not a JWT with `exp`), in ms, at least 1_000. */
  defaultTtlMs?: number;
  /** Fetch timeout in ms; default the cache's `fetchTimeoutMs`. */
  timeoutMs?: number;
  /**
   * Values your function uses that must never be shown (an API key, a password, a session): redacted, in
   * every encoding, from every error, event, log line and health detail, including an error's `cause` chain.
   * A list, or a function returning the current list.
   */
  secrets?: string[] | (() => string[]);
}

/**
 * A source backed by your own function: a login call, an SDK, anything that returns a token.
 * Return a `TokenResponse`, or a bare token string (its expiry then comes from a JWT `exp`, else `defaultTtlMs`).
 */
export function tokenFunction(fn: TokenFunction, options: TokenFunctionOptions = {}): TokenSource {
  if (typeof fn !== 'function') {
    throw new TokenCacheConfigError('tokenFunction', messages.config('tokenFunction', 'expected a function returning a token'));
  }
  assertOptionsObject('tokenFunction', options, TOKEN_FUNCTION_OPTION_NAMES);
  assertLifetimeMs('tokenFunction.defaultTtlMs', options.defaultTtlMs);
  assertTimerMs('tokenFunction.timeoutMs', options.timeoutMs);
  const { secrets } = options;
  if (secrets !== undefined && typeof secrets !== 'function' && !(Array.isArray(secrets) && secrets.every((s) => typeof s === 'string'))) {
    throw new TokenCacheConfigError('tokenFunction.secrets', messages.config('tokenFunction.secrets', 'expected an array of strings or a function returning one'));
  }
  return {
    ...(secrets !== undefined && {
      secrets: () => {
        const list: unknown = typeof secrets === 'function' ? secrets() : secrets;
        return Array.isArray(list) ? list.filter((s): s is string => typeof s === 'string') : [];
      },
    }),
    kind: 'function',
    defaultTtlMs: options.defaultTtlMs,
    timeoutMs: options.timeoutMs,
    async fetchToken(request, { signal }) {
      const result = await fn(request, { signal });
      return typeof result === 'string' ? { accessToken: result } : result;
    },
  };
}

