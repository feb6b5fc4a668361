import { TokenCacheConfigError } from '../token-cache.errors.js';
import { messages } from '../token-cache.messages.js';
import type { TokenCacheLogger } from '../token-cache.types.js';
import { assertOptionalFunction, assertOptionalString, assertOptionsObject } from '../validate.js';
import { REFRESH_TOKEN_GRANT_OPTION_NAMES } from './source-options.js';
import { abortedError, OAuthGrantClient, parseScopeOption, type OAuthAuthMethod, type OAuthClientOptions } from './oauth-grant.js';
import { RefreshTokenRotation, type RefreshTokenOption, type RefreshTokenRotatedCallback } from './refresh-token-rotation.js';
import type { TokenSource } from './token-source.interface.js';

export interface RefreshTokenGrantOptions extends OAuthClientOptions {
  /**
   * The refresh token to start from (e.g. loaded from a secret store), or a function of the request that
   * returns the current one, called for each refresh: `({ subject }) => db.loadRefreshToken(subject)` in a
   * multi-user app (one refresh token per user, kept in your database; persist rotations in
   * `onRefreshTokenRotated`). With a shared store (`RedisTokenStore`) and a string, a rotated refresh token
   * is shared between instances (sealed, never readable in Redis).
   */
  refreshToken: RefreshTokenOption;
  /** Default `'client_secret_basic'` when `clientSecret` is set, else `'none'` (a public client). */
  authMethod?: OAuthAuthMethod;
  /** Scopes to ask for (a subset of the grant's); default none, i.e. all of the grant's. A request's `scopes` replace them. */
  scope?: string | string[];
  /** Default `audience` form parameter. A request's `audience` replaces it. */
  audience?: string;
  /** Default RFC 8707 `resource` form parameter. A request's `resource` replaces it. */
  resource?: string;
  /**
   * Called, and awaited, with the new refresh token and the request (its `subject`) whenever the server
   * rotates it: persist it here. Calls for one refresh token never overlap and come in rotation order; the
   * next refresh of that token (here or, with a shared store, in another instance) starts after it returns.
   * If it throws, the fetch still succeeds (the new token is valid and kept in memory) and a warning
   * without the token is logged.
   */
  onRefreshTokenRotated?: RefreshTokenRotatedCallback;
  /** Where a failing `onRefreshTokenRotated` is reported. Default `console`. */
  logger?: Pick<TokenCacheLogger, 'warn'>;
}

/**
 * OAuth 2 refresh token grant (RFC 6749 §6): a user's token from a stored refresh token (Spotify, Google…).
 * Refreshes that would spend one refresh token never overlap (in this process, and across instances with a
 * shared store), even for different cache keys; a rotated refresh token is used from then on and handed to
 * `onRefreshTokenRotated` (see `refresh-token-rotation.ts` for the rules).
 */
export function refreshTokenGrant(options: RefreshTokenGrantOptions): TokenSource {
  assertOptionsObject('refreshTokenGrant', options, REFRESH_TOKEN_GRANT_OPTION_NAMES);
  const defaultMethod: OAuthAuthMethod =
    options !== null && typeof options === 'object' && typeof options.clientSecret === 'string' && options.clientSecret !== ''
      ? 'client_secret_basic'
      : 'none';
  const client = new OAuthGrantClient('refreshTokenGrant', options, defaultMethod, undefined, {
    grantOptions: ['refreshToken', 'scope', 'audience', 'resource', 'onRefreshTokenRotated', 'logger'],
  });
  if (typeof options.refreshToken !== 'function') checkRefreshToken(options.refreshToken);
  assertOptionalFunction('refreshTokenGrant.onRefreshTokenRotated', options.onRefreshTokenRotated);
  assertOptionalString('refreshTokenGrant.audience', options.audience);
  assertOptionalString('refreshTokenGrant.resource', options.resource);
  const defaults = {
    scopes: parseScopeOption('refreshTokenGrant.scope', options.scope),
    audience: options.audience,
    resource: options.resource,
  };
  const rotation = new RefreshTokenRotation({
    refreshToken: options.refreshToken,
    onRotated: options.onRefreshTokenRotated,
    logger: options.logger,
    timeoutMs: client.timeoutMs ?? 10_000,
    check: checkRefreshToken,
  });
  const secrets = () => [...client.secrets(), ...rotation.secrets()];

  return {
    kind: 'refresh_token',
    timeoutMs: client.timeoutMs,
    ...(client.dpop && { dpopKey: client.dpop.key }),
    secrets,
    close: () => {
      rotation.close();
      return client.close();
    },
    fetchToken(request, context) {
      const result = rotation.run(request, context, async (refreshToken, spent) => {
        if (context.signal.aborted) throw abortedError(request.source, context.signal);
        const params = client.params(request, defaults);
        params.set('refresh_token', refreshToken);
        const response = await client.grant(
          'refresh_token',
          params,
          request,
          context,
          [refreshToken, ...spent],
        );
        const { refreshToken: next, ...token } = response;
        return { result: token, next };
      });
      return untilAborted(result, request.source, context.signal);
    },
  };
}

/** A refresh token given as a string, or returned by the function: a non-empty string (never shown in the message). */
function checkRefreshToken(value: unknown): asserts value is string {
  if (typeof value === 'string' && value.trim() !== '') return;
  const got = typeof value === 'string' ? 'an empty string' : value === null ? 'null' : typeof value;
  throw new TokenCacheConfigError(
    'refreshTokenGrant.refreshToken',
    messages.config('refreshTokenGrant.refreshToken', `expected a non-empty string, or a function of the request returning one; got ${got}`),
  );
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
