/**
 * The timing rules of a cached token, as pure functions of times (epoch ms): until when it is usable, when
 * its background refresh is due, how long it may still be served while the IdP fails, and when a key whose
 * last fetch failed may fetch again. `TokenCache` asks; nothing here keeps state or reads a clock.
 *
 * A token's life, with the default options (lifetime L = expiresAt - receivedAt, F = the source's p95 fetch time):
 *
 *   receivedAt          refresh window     usableUntil   servableUntil  expiresAt
 *   |------ fresh ------[start ..... end]------|...............|..............|
 *                       >= 0.8 L  >= 1.5 F left <-- skew = min(expirySkewMs, L / 10) -->
 *                                                              <- transit margin ->
 *   start = usableUntil - max(L / 20, 3 F), moved later up to 0.8 L while that still leaves 1.5 F;
 *   end = half-way from start to usableUntil, leaving at least 1.5 F; transit margin = min(1 s, L / 20).
 *   A slow IdP (F > L / 5 for short tokens) moves the start before 0.8 L: no caller waits, at the price of
 *   more than 1.25 fetches per lifetime. No refresh starts sooner than min(1 s, L / 4) after the last fetch.
 */

/** The skew applied to a token is at most this fraction of its lifetime (so a short token is still used). */
export const MAX_SKEW_FRACTION = 0.1;
/**
 * With `refreshBeforeExpiryMs` unset, a background refresh does not start before this fraction of the
 * lifetime (at most 1 / 0.8 = 1.25 fetches per lifetime under steady load) unless the fetch time forces it.
 */
export const ADAPTIVE_REFRESH_FROM = 0.8;
/** The window's start leaves at least this fraction of the lifetime before `usableUntil`… */
export const REFRESH_ROOM_FRACTION = 0.05;
/**
 * …and at least this many p95 fetch times after the window's end (twice that after its start): a refresh
 * started anywhere in the window finishes before the token stops being usable, with room for a slow one.
 */
export const REFRESH_ROOM_FETCH_FACTOR = 1.5;
/** The fetch time the window allows for is at least this (ms): a first fetch on a warm connection can be quick by luck. */
export const MIN_FETCH_ESTIMATE_MS = 50;
/**
 * Every token is used for at least this long after it arrived (ms): a reply whose expiry is already past, now,
 * or closer (a remote clock behind ours, `expires_in: 0.001`, a JWT whose `exp` is its `iat`) is used this
 * long (the cache logs a warning), and lifetime options (`defaultTtlMs`, `maxTtlMs`) may not be shorter.
 * So no option and no reply makes every call fetch.
 */
export const MIN_TOKEN_LIFETIME_MS = 1_000;
/** No refresh starts sooner than min(this, L / 4) after the key's last fetch (`refresh_in: 0.001`, a token handed back unchanged). */
export const MIN_REFRESH_INTERVAL_MS = 1_000;
/** While refreshes fail, a token is served until `expiresAt` less this fraction of its lifetime… */
export const TRANSIT_MARGIN_FRACTION = 0.05;
/** …but never less than `expiresAt - 1 s`: time for the request to reach the API with the token still valid. */
export const TRANSIT_MARGIN_MAX_MS = 1_000;
/** While no usable token is held and the failure was retryable, a key may start a fetch this often. */
export const RETRY_WITHOUT_TOKEN_MS = 1_000;

/** The times of a token that the rules read. */
export interface TimedToken {
  /** When the reply arrived: the lifetime runs from here. */
  receivedAt: number;
  /** When the token expires, raw (before any skew). */
  expiresAt: number;
  /** When the IdP asked for the refresh (`receivedAt + refresh_in`), if it did. */
  refreshAt?: number;
  /**
   * The fetch time a refresh of the token must allow for (ms): the p95 of its source's recent fetches when it
   * arrived (fetch-durations.ts). A slow IdP gets its refresh started earlier.
   */
  fetchMs?: number;
  /** When the token was last fetched, when later than `receivedAt` (a source handed back the token it had already given). */
  fetchedAt?: number;
}

export interface TimingOptions {
  /** `expirySkewMs`: a token is taken as expired this long before `expiresAt`, at most a tenth of its lifetime. */
  expirySkewMs: number;
  /**
   * `refreshBeforeExpiryMs` as the user set it: refresh-ahead starts this long before `expiresAt`, capped at
   * half the lifetime; 0 turns it off. `undefined` (unset) selects the adaptive window.
   */
  refreshBeforeExpiryMs?: number;
}

/** The refresh window: a background refresh starts at some point in `[start, end]` (instances may jitter within it). */
export interface RefreshWindow {
  start: number;
  end: number;
}

export interface TokenTiming {
  lifetimeMs: number;
  skewMs: number;
  /** Until then (exclusive) the token is served as usable: `expiresAt - min(expirySkewMs, lifetime / 10)`. */
  usableUntil: number;
  /** When a background refresh is due; `undefined` when refresh-ahead is off. */
  refreshWindow: RefreshWindow | undefined;
  /** While the key's refreshes fail, the token is still served until then (exclusive): `expiresAt` less a transit margin. */
  servableUntil: number;
}

/** The timing of one token under the cache's options. */
export function tokenTiming(token: TimedToken, options: TimingOptions): TokenTiming {
  const { receivedAt, expiresAt } = token;
  const lifetimeMs = Math.max(0, expiresAt - receivedAt);
  const skewMs = Math.min(options.expirySkewMs, lifetimeMs * MAX_SKEW_FRACTION);
  const usableUntil = expiresAt - skewMs;
  const servableUntil = Math.max(usableUntil, expiresAt - Math.min(TRANSIT_MARGIN_MAX_MS, lifetimeMs * TRANSIT_MARGIN_FRACTION));
  return { lifetimeMs, skewMs, usableUntil, refreshWindow: refreshWindowOf(token, options, lifetimeMs, usableUntil), servableUntil };
}

function refreshWindowOf(token: TimedToken, options: TimingOptions, lifetimeMs: number, usableUntil: number): RefreshWindow | undefined {
  const set = options.refreshBeforeExpiryMs;
  if (set === 0) return undefined;
  const { receivedAt } = token;
  const fetchMs = Math.max(MIN_FETCH_ESTIMATE_MS, token.fetchMs !== undefined && Number.isFinite(token.fetchMs) ? token.fetchMs : 0);
  // The time a refresh needs: left after the window's end (twice that after its start, for a lone instance).
  const need = REFRESH_ROOM_FETCH_FACTOR * fetchMs;
  const latestEnd = usableUntil - need;
  // The adaptive start: room for the refresh before usableUntil, moved later towards 0.8 L (the 1.25 bound)
  // as far as still leaves it `need`; a fetch slower than that forces it earlier (no caller waits).
  const roomy = usableUntil - Math.max(lifetimeMs * REFRESH_ROOM_FRACTION, 2 * need);
  const adaptiveStart = Math.max(roomy, Math.min(receivedAt + lifetimeMs * ADAPTIVE_REFRESH_FROM, latestEnd));
  let start: number;
  if (token.refreshAt !== undefined && Number.isFinite(token.refreshAt)) {
    // The IdP's refresh_in wins, kept within the token's life so that a refresh still ends before it is unusable.
    const adaptiveEnd = Math.max(adaptiveStart, Math.min(halfWay(adaptiveStart, usableUntil), latestEnd));
    start = Math.min(Math.max(token.refreshAt, receivedAt), adaptiveEnd);
  } else if (set !== undefined) {
    start = token.expiresAt - Math.min(set, lifetimeMs / 2); // the 0.1 rule, as the user set it
  } else {
    start = adaptiveStart;
  }
  // Never sooner than min(1 s, L / 4) after the last fetch: a tiny refresh_in, an outlier in the fetch times or a
  // token handed back unchanged near its end never makes every call fetch.
  const fetchedAt = Math.max(receivedAt, token.fetchedAt !== undefined && Number.isFinite(token.fetchedAt) ? token.fetchedAt : receivedAt);
  start = Math.max(start, fetchedAt + Math.min(MIN_REFRESH_INTERVAL_MS, Math.max(0, token.expiresAt - fetchedAt) / 4));
  const end = set !== undefined && token.refreshAt === undefined ? halfWay(start, usableUntil) : Math.max(start, Math.min(halfWay(start, usableUntil), latestEnd));
  return { start, end };
}

/** Half-way from `start` to `until`; `start` itself when `until` is not later. */
const halfWay = (start: number, until: number): number => (until > start ? start + (until - start) / 2 : start);

/** Where a token is in its life at `now`. */
export type TokenPhase = 'fresh' | 'refresh-due' | 'servable-if-failing' | 'expired';

export function tokenPhase(timing: TokenTiming, now: number): TokenPhase {
  if (now >= timing.usableUntil) return now < timing.servableUntil ? 'servable-if-failing' : 'expired';
  return timing.refreshWindow !== undefined && now >= timing.refreshWindow.start ? 'refresh-due' : 'fresh';
}

// ---------------------------------------------------------------- backoff

/** What the cache remembers about a key's last failed fetch. */
export interface FetchFailure {
  /** Consecutive failures of the key (1 for the first). */
  failures: number;
  /** When the failed fetch started. */
  startedAt: number;
  /** When it failed. */
  failedAt: number;
  /** Network, timeout, 5xx, 429 (and the like): false for `invalid_client`, `invalid_grant`, other 4xx, bad replies. */
  retryable: boolean;
  /** A server's `Retry-After`, in ms from `failedAt`. */
  retryAfterMs?: number;
  /** The doubling backoff drawn for this failure (1 s · 2^(failures-1), ±20 %, at most 30 s), from `failedAt`. */
  backoffMs: number;
  /** What the key held when the fetch failed: a usable token (a background refresh), one only served while failing, or none. */
  held: HeldToken;
}

/**
 * What a key holds: a `usable` token (before usableUntil), a `servable` one (past usableUntil, served only while
 * the key's fetches fail, until servableUntil), or `none`.
 */
export type HeldToken = 'usable' | 'servable' | 'none';
const HELD_RANK: Record<HeldToken, number> = { none: 0, servable: 1, usable: 2 };

/**
 * The earliest time a new fetch of the key may start after `failure`, given what the key holds now
 * (Timing with default options, API.md):
 * - A server's `Retry-After` is always honoured.
 * - The held token got worse since the failure (usable → only servable, servable → gone; it aged, or it was
 *   invalidated): the first caller may fetch at once, whatever the backoff. At most two such fetches per outage.
 * - No usable token held and a retryable failure: once per second (from the start of the failed fetch), so
 *   a recovered IdP is used within a second without being hammered.
 * - Otherwise (a background refresh while a usable token is held; a non-retryable error): the doubling backoff.
 */
export function nextFetchAt(failure: FetchFailure, heldNow: HeldToken): number {
  const floor = failure.retryAfterMs !== undefined ? failure.failedAt + failure.retryAfterMs : -Infinity;
  let at: number;
  if (HELD_RANK[heldNow] < HELD_RANK[failure.held]) at = failure.failedAt;
  else if (heldNow !== 'usable' && failure.retryable) at = failure.startedAt + RETRY_WITHOUT_TOKEN_MS;
  else at = failure.failedAt + failure.backoffMs;
  return Math.max(floor, at);
}

/** What a key holding `timing`'s token (or none) holds at `now`. */
export function heldToken(timing: TokenTiming | undefined, now: number): HeldToken {
  if (timing === undefined || now >= timing.servableUntil) return 'none';
  return now < timing.usableUntil ? 'usable' : 'servable';
}

// ---------------------------------------------------------------- a reply's times

/** What a parsed reply says about time (token-response.ts `ValidTokenResponse`). */
export interface ReplyTimes {
  receivedAt: number;
  expiresAt: number;
  expirySource: 'expiresAt' | 'expiresIn' | 'jwt' | 'default';
  jwtExpMs?: number;
  jwtIatMs?: number;
  refreshInMs?: number;
}

/** A reply's times on our clock (replyTimes). */
export interface ResolvedReplyTimes {
  expiresAt: number;
  refreshAt?: number;
  /**
   * Set when the reply left the token less than MIN_TOKEN_LIFETIME_MS from its arrival (already expired, expiring
   * now or within a second): the lifetime it gave (ms, negative when already past). `expiresAt` was raised.
   */
  shortLifetimeMs?: number;
}

/**
 * A reply's `expiresAt` and `refreshAt` on our clock:
 * - a JWT `exp` without `expires_in` is read as a lifetime, `exp - iat` counted from when the reply arrived
 *   (when `iat` is present and before `exp`), so an IdP clock that differs from ours changes nothing; capped
 *   at `maxTtlMs`. Not for tokens read from a file (`fromArrival` false): a file's token may be old, and its
 *   absolute `exp` is the only safe bound;
 * - every token is used for at least MIN_TOKEN_LIFETIME_MS (1 s) from its arrival: an expiry already past (a
 *   remote clock behind ours), now or sooner (`expires_in: 0.001`, a JWT whose `exp` is its `iat`) is raised to
 *   that, so that no reply makes every call fetch;
 * - `refresh_in` moves the refresh to `receivedAt + refresh_in`.
 */
export function replyTimes(reply: ReplyTimes, maxTtlMs: number, fromArrival = true): ResolvedReplyTimes {
  let { expiresAt } = reply;
  const { jwtExpMs, jwtIatMs, receivedAt } = reply;
  if (fromArrival && reply.expirySource === 'jwt' && jwtExpMs !== undefined && jwtIatMs !== undefined && jwtExpMs > jwtIatMs) {
    expiresAt = receivedAt + Math.min(jwtExpMs - jwtIatMs, maxTtlMs);
  }
  const out: ResolvedReplyTimes = { expiresAt };
  if (!(expiresAt - receivedAt >= MIN_TOKEN_LIFETIME_MS)) {
    out.shortLifetimeMs = expiresAt - receivedAt;
    out.expiresAt = receivedAt + MIN_TOKEN_LIFETIME_MS;
  }
  if (reply.refreshInMs !== undefined && reply.refreshInMs > 0) out.refreshAt = receivedAt + reply.refreshInMs;
  return out;
}
