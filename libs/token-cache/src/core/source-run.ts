/**
 * One call of a token source, as the cache makes it: bounded by its timeout, stoppable by close(), the reply
 * validated (token-response.ts) and turned into the `StoredToken` the cache keeps.
 */
import { startTimer } from './clock.js';
import { DPoPKey } from './dpop/dpop-key.js';
import type { TokenSource } from './sources/token-source.interface.js';
import { capBySubjectToken } from './subject-token.js';
import { TokenFetchError } from './token-cache.errors.js';
import { messages } from './token-cache.messages.js';
import type { Clock, TokenCacheLogger, TokenRequest } from './token-cache.types.js';
import { validateTokenResponse, type ValidTokenResponse } from './token-response.js';
import type { StoredToken, TokenStore } from './token-store.interface.js';
import { MIN_REFRESH_INTERVAL_MS, replyTimes } from './token-timing.js';

export interface SourceRunContext {
  clock: Clock;
  /** How long the call may take (ms) before it is aborted with a retryable `TokenFetchError`. */
  timeoutMs: number;
  /** Reply limits (token-response.ts): the source's `defaultTtlMs` wins over this one. */
  defaultTtlMs: number;
  maxTtlMs: number;
  maxTokenBytes: number;
  /** The cache's logger, lent to the source for warnings besides its errors. */
  logger?: TokenCacheLogger;
  /** The store, whose `exclusive` (a cross-instance lock) is lent to the source when it has one. */
  store: TokenStore;
  /**
   * How to stop calls in flight: the run adds its stop function while it runs, and the cache calls them all on
   * close(). A set rather than one shared AbortSignal with a listener per call: a signal warns
   * (MaxListenersExceededWarning) once more than 10 keys fetch at once.
   */
  running: Set<() => void>;
  /** True once the cache is closed: a call started then is stopped at once. */
  closed: boolean;
  /**
   * Told when a reply left its token less than MIN_TOKEN_LIFETIME_MS (token-timing.ts), with what the IdP sent
   * (never the token): the token is used for that minimum instead, and the cache logs it.
   */
  shortLifetime?: (sent: string) => void;
}

/** A source's DPoP key, when it has a real one (a custom source could put anything there). */
export function dpopKeyOf(source: TokenSource): DPoPKey | undefined {
  return source.dpopKey instanceof DPoPKey ? source.dpopKey : undefined;
}

/**
 * Calls `source.fetchToken(request)` once. Rejects with a `TokenFetchError` (retryable) after `timeoutMs`, with
 * a non-retryable one when the cache closes meanwhile, with the source's error or the reply's
 * `TokenResponseError` otherwise.
 */
export async function runSource(source: TokenSource, request: TokenRequest, ctx: SourceRunContext): Promise<StoredToken> {
  const { clock, timeoutMs } = ctx;
  const startedAt = clock.now();
  const controller = new AbortController();
  const timeoutError = new TokenFetchError(messages.fetchTimeout(request.source, timeoutMs), { source: request.source, retryable: true });
  let rejectTimeout!: (error: Error) => void;
  const timedOut = new Promise<never>((_, reject) => (rejectTimeout = reject));
  const stop = (error: TokenFetchError) => {
    controller.abort(error);
    rejectTimeout(error);
  };
  const cancel = startTimer(clock, () => stop(timeoutError), timeoutMs);
  const onClose = () => stop(new TokenFetchError(messages.closed(request.source), { source: request.source, retryable: false }));
  if (ctx.closed) onClose();
  else ctx.running.add(onClose);
  try {
    const shared = ctx.store.exclusive === undefined ? undefined : (ctx.store as Required<Pick<TokenStore, 'exclusive'>>);
    const response = await Promise.race([source.fetchToken(request, { signal: controller.signal, clock, shared, logger: ctx.logger }), timedOut]);
    const receivedAt = clock.now();
    const valid = validateTokenResponse(response, request.source, receivedAt, {
      defaultTtlMs: source.defaultTtlMs ?? ctx.defaultTtlMs,
      maxTtlMs: ctx.maxTtlMs,
      maxTokenBytes: ctx.maxTokenBytes,
      dpop: dpopKeyOf(source) !== undefined,
    });
    // JWT exp - iat from arrival, refresh_in (token-timing.ts); a token file's absolute exp stays as it is.
    const times = replyTimes(valid, ctx.maxTtlMs, source.kind !== 'file');
    if (times.shortLifetimeMs !== undefined) ctx.shortLifetime?.(describeSentExpiry(valid, times.shortLifetimeMs));
    return {
      accessToken: valid.accessToken,
      tokenType: valid.tokenType,
      // An exchanged token is never used past the subject token's own JWT `exp` (RFC 8693 on-behalf-of).
      expiresAt: capBySubjectToken(times.expiresAt, request.subjectToken),
      receivedAt,
      ...(times.refreshAt !== undefined && { refreshAt: times.refreshAt }),
      fetchMs: receivedAt - startedAt,
      ...((valid.scopes ?? request.scopes) && { scopes: valid.scopes ?? request.scopes }),
      source: request.source,
      ...(request.subject !== undefined && { subject: request.subject }),
      ...(request.scopes !== undefined && { requestedScopes: request.scopes }),
      ...(request.audience !== undefined && { audience: request.audience }),
      ...(request.resource !== undefined && { resource: request.resource }),
    };
  } catch (error) {
    throw controller.signal.aborted ? (controller.signal.reason as TokenFetchError) : error;
  } finally {
    cancel();
    ctx.running.delete(onClose);
  }
}

/** What a reply said about its expiry, for the short-lifetime warning: names and times, never the token. */
export function describeSentExpiry(valid: ValidTokenResponse, lifetimeMs: number): string {
  const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms));
  const left = lifetimeMs < 0 ? `${Math.round(-lifetimeMs)} ms before it arrived` : `${Math.round(lifetimeMs)} ms after it arrived`;
  switch (valid.expirySource) {
    case 'expiresIn':
      return `expires_in ${(valid.expiresInMs ?? lifetimeMs) / 1000} s`;
    case 'expiresAt':
      return `expiresAt ${iso(valid.expiresAt)}, ${left} (is its clock behind ours?)`;
    case 'jwt':
      return `a JWT with exp ${iso(valid.jwtExpMs ?? valid.expiresAt)}${valid.jwtIatMs !== undefined ? ` and iat ${iso(valid.jwtIatMs)}` : ''}, ${left}`;
    default:
      return `no expiry, and the default lifetime is ${Math.round(lifetimeMs)} ms`;
  }
}

/**
 * A source that hands out the token it already gave (a token file not yet rotated, an SDK's own cache) does
 * not renew its life: the lifetime runs from when the token was first received, so re-reading it never
 * shrinks its skew towards zero; `fetchedAt` says when it was read again (no refresh starts sooner than a
 * second after that). `held` is the token the cache holds for the key, if any. `usableUntil` gives the timing
 * of a token: when the first life would leave the token usable for less than a second from now, it starts a
 * new life instead (else every call would read it again).
 */
export function sameTokenSameLife(held: StoredToken | undefined, token: StoredToken, usableUntil?: (token: StoredToken) => number): StoredToken {
  if (held === undefined || held.accessToken !== token.accessToken || held.receivedAt >= token.receivedAt) return token;
  const same: StoredToken = { ...token, receivedAt: held.receivedAt, fetchedAt: token.receivedAt };
  if (usableUntil !== undefined && usableUntil(same) < token.receivedAt + MIN_REFRESH_INTERVAL_MS) return token;
  return same;
}
