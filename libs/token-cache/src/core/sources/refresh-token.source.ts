import { describeError, redact, TokenFetchError } from '../token-cache.errors.js';
import type { TokenCacheLogger } from '../token-cache.types.js';
import { assertNonEmptyString, assertOptionalFunction, assertOptionalString } from '../validate.js';
import { abortedError, OAuthGrantClient, parseScopeOption, type OAuthAuthMethod, type OAuthClientOptions } from './oauth-grant.js';
import type { TokenSource } from './token-source.interface.js';
import { sourceMessages } from './token-sources.messages.js';

export interface RefreshTokenGrantOptions extends OAuthClientOptions {
  /** The refresh token to start from (e.g. loaded from your database or a secret store). */
  refreshToken: string;
  /** Default `'client_secret_basic'` when `clientSecret` is set, else `'none'` (a public client). */
  authMethod?: OAuthAuthMethod;
  /** Scopes to ask for (a subset of the grant's); default none, i.e. all of the grant's. A request's `scopes` replace them. */
  scope?: string | string[];
  /** Default `audience` form parameter. A request's `audience` replaces it. */
  audience?: string;
  /** Default RFC 8707 `resource` form parameter. A request's `resource` replaces it. */
  resource?: string;
  /**
   * Called, and awaited, with the new refresh token whenever the server rotates it: persist it here.
   * Calls never overlap and come in rotation order. If it throws, the fetch still succeeds (the new token
   * is valid and kept in memory) and a warning without the token is logged.
   */
  onRefreshTokenRotated?: (refreshToken: string) => void | Promise<void>;
  /** Where a failing `onRefreshTokenRotated` is reported. Default `console`. */
  logger?: Pick<TokenCacheLogger, 'warn'>;
}

/** How many spent refresh tokens are still redacted from messages (a server may echo an old one). */
const SPENT_TOKENS_REDACTED = 5;

/**
 * OAuth 2 refresh token grant (RFC 6749 §6): a user's token from a stored refresh token (Spotify, Google…).
 * Refreshes are serialized inside the source, so one refresh token is never spent twice, even by fetches
 * for different cache keys; a rotated refresh token is used from then on and handed to `onRefreshTokenRotated`.
 */
export function refreshTokenGrant(options: RefreshTokenGrantOptions): TokenSource {
  const defaultMethod: OAuthAuthMethod =
    options !== null && typeof options === 'object' && typeof options.clientSecret === 'string' && options.clientSecret !== ''
      ? 'client_secret_basic'
      : 'none';
  const client = new OAuthGrantClient('refreshTokenGrant', options, defaultMethod);
  assertNonEmptyString('refreshTokenGrant.refreshToken', options.refreshToken);
  assertOptionalFunction('refreshTokenGrant.onRefreshTokenRotated', options.onRefreshTokenRotated);
  assertOptionalString('refreshTokenGrant.audience', options.audience);
  assertOptionalString('refreshTokenGrant.resource', options.resource);
  const defaults = {
    scopes: parseScopeOption('refreshTokenGrant.scope', options.scope),
    audience: options.audience,
    resource: options.resource,
  };
  const onRotated = options.onRefreshTokenRotated;
  const logger = options.logger ?? console;

  let current = options.refreshToken;
  const spent: string[] = [];
  const secrets = () => [...client.secrets(), current, ...spent];
  /** The tail of the refresh queue: each refresh starts when the one before it has settled. */
  let queue: Promise<unknown> = Promise.resolve();

  return {
    kind: 'refresh_token',
    timeoutMs: client.timeoutMs,
    ...(client.dpop && { dpopKey: client.dpop.key }),
    secrets,
    close: () => client.close(),
    fetchToken(request, context) {
      const run = async () => {
        if (context.signal.aborted) throw abortedError(request.source, context.signal);
        const params = client.params(request, defaults);
        params.set('refresh_token', current);
        const response = await client.grant(
          'refresh_token',
          params,
          request,
          context,
          [current, ...spent],
        );
        const { refreshToken: next, ...token } = response;
        if (next !== undefined && next !== '' && next !== current) {
          spent.unshift(current);
          spent.length = Math.min(spent.length, SPENT_TOKENS_REDACTED);
          current = next;
          if (onRotated !== undefined) {
            try {
              await onRotated(next);
            } catch (error) {
              const { name, message } = describeError(error);
              logger.warn(sourceMessages.rotationCallbackFailed(request.source, redact(`${name}: ${message}`, secrets())));
            }
          }
        }
        return token;
      };
      const result = queue.then(run);
      queue = result.catch(() => undefined);
      return untilAborted(result, request.source, context.signal);
    },
  };
}


/** Stops a caller waiting in the queue when its signal fires; the queued refresh then sees the abort and skips. */
function untilAborted<T>(promise: Promise<T>, source: string, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortedError(source, signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError(source, signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
