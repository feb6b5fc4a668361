/** Options of `TokenCache` (and of `TokenCacheModule.forRoot`), their defaults and their validation. */
import { isPromise } from './token-retry.js';
import type { MeterProvider } from '@opentelemetry/api';
import { TokenCacheConfigError } from './token-cache.errors.js';
import { messages } from './token-cache.messages.js';
import type { TokenSource } from './sources/token-source.interface.js';
import type { TokenStore } from './token-store.interface.js';
import type { Clock, TokenCacheLogger } from './token-cache.types.js';
import { assertKnownOptions, assertLifetimeMs, assertNonNegativeInt, assertPositiveInt, assertTimerMs, describeValue } from './validate.js';

/**
 * The default of each numeric option. `refreshBeforeExpiryMs` is `undefined`: unset selects the adaptive
 * refresh window (0.2; it was 300_000 in 0.1). The key is kept so that 0.1 code passing
 * `DEFAULTS.refreshBeforeExpiryMs` on still gets the default, and code doing arithmetic with it fails to compile.
 */
export const DEFAULTS = {
  maxEntries: 10_000,
  expirySkewMs: 30_000,
  refreshBeforeExpiryMs: undefined,
  defaultTtlMs: 300_000,
  fetchTimeoutMs: 10_000,
  cleanupIntervalMs: 1_800_000,
  maxTtlMs: 86_400_000,
  maxTokenBytes: 16_384,
} as const;

export interface TokenCacheOptions {
  /** The named token sources. `getToken('name')` uses `sources.name`. */
  sources: Record<string, TokenSource>;
  /** Where tokens are kept. Default `new MemoryTokenStore({ maxEntries })`. */
  store?: TokenStore;
  /** Most entries in the default memory store; the least recently used is evicted. Default 10_000. */
  maxEntries?: number;
  /** A token counts as expired this long before its expiry, at most a tenth of its lifetime. Default 30_000 ms. */
  expirySkewMs?: number;
  /**
   * Refresh in the background this long before expiry, capped at half the token's lifetime; 0 turns it off.
   * Default: unset, an adaptive window that suits every lifetime from seconds to a day (from 0.8 of the
   * lifetime at the earliest, so at most 1.25 fetches per lifetime, and early enough for the refresh to
   * finish before the token stops being usable). See "Timing" in the README.
   */
  refreshBeforeExpiryMs?: number;
  /** Lifetime of a token with no expiry information (no expires_in, not a JWT with exp). Default 300_000 ms, at least 1_000. */
  defaultTtlMs?: number;
  /** A fetch is aborted after this long (a source's `timeoutMs` wins). Default 10_000 ms. */
  fetchTimeoutMs?: number;
  /** How often expired entries are removed (the Nest module schedules it). Default 1_800_000 ms (30 min). */
  cleanupIntervalMs?: number;
  /**
   * Longest lifetime given to any token, in ms: a longer `expires_in` / `expiresAt` / JWT `exp` is cut to it,
   * so every `expiresAt` is a valid date and every shared-store key has a TTL. Default 86_400_000 (24 h), at least 1_000.
   */
  maxTtlMs?: number;
  /**
   * Longest access token accepted, in bytes (tokens are ASCII): a longer one is a TokenResponseError and not
   * cached, since most APIs reject a header that large. Default 16_384.
   */
  maxTokenBytes?: number;
  /** Sources fetched when the application starts (Nest: at bootstrap; core: `cache.preload()`). */
  preload?: string[];
  /** Time source; tests pass a fake clock. Default the system clock. */
  clock?: Clock;
  /** Random numbers in [0, 1) for backoff jitter. Default `Math.random`. */
  random?: () => number;
  /** Where the cache logs. Default: no logging in the core; the Nest module passes Nest's `Logger`. */
  logger?: TokenCacheLogger;
  /**
   * Where the OpenTelemetry metrics go. Default the global provider of `@opentelemetry/api`, read when the
   * cache is created (register your SDK before that); with none registered, metrics are no-ops.
   */
  meterProvider?: MeterProvider;
}

export type ResolvedTokenCacheOptions = Required<Omit<TokenCacheOptions, 'store' | 'logger' | 'meterProvider' | 'refreshBeforeExpiryMs'>> &
  Pick<TokenCacheOptions, 'store' | 'logger' | 'meterProvider' | 'refreshBeforeExpiryMs'>;

const STORE_METHODS = ['getSync', 'peek', 'get', 'set', 'delete', 'entries', 'subscribe'] as const;

/**
 * Every option name of TokenCacheOptions. An option added to the interface must be added here too, or it
 * is rejected as unknown (the spec checks that the two agree).
 */
export const TOKEN_CACHE_OPTION_NAMES = [
  'sources',
  'store',
  'maxEntries',
  'expirySkewMs',
  'refreshBeforeExpiryMs',
  'defaultTtlMs',
  'fetchTimeoutMs',
  'cleanupIntervalMs',
  'maxTtlMs',
  'maxTokenBytes',
  'preload',
  'clock',
  'random',
  'logger',
  'meterProvider',
] as const satisfies readonly (keyof TokenCacheOptions)[];

/** The most entries a memory store may be asked to hold: beyond this a typo (2**31) would exhaust memory. */
export const MAX_ENTRIES_LIMIT = 10_000_000;
/** The longest `maxTtlMs`: ten years, so that every `expiresAt` stays a valid Date. */
export const MAX_TTL_LIMIT_MS = 315_576_000_000;

/** Fields of forRoot/forRootAsync itself that a forRootAsync factory may return by mistake. */
const MODULE_FIELDS = new Set(['isGlobal', 'admin', 'imports', 'inject', 'useFactory', 'useClass', 'useExisting']);

/** Validates options and fills in defaults. Throws TokenCacheConfigError naming the first bad option. */
export function resolveTokenCacheOptions(options: TokenCacheOptions | undefined, clock: Clock): ResolvedTokenCacheOptions {
  if (options === null || typeof options !== 'object') {
    throw new TokenCacheConfigError('options', messages.config('options', `expected an object, got ${describeValue(options)}`));
  }
  for (const name of Object.keys(options)) {
    if (MODULE_FIELDS.has(name) && !(TOKEN_CACHE_OPTION_NAMES as readonly string[]).includes(name)) {
      throw new TokenCacheConfigError(
        name,
        messages.config(name, 'is a field of TokenCacheModule.forRoot()/forRootAsync() itself, not of the cache options a forRootAsync factory returns; move it there'),
      );
    }
  }
  assertKnownOptions(options, TOKEN_CACHE_OPTION_NAMES);
  const { sources } = options;
  if (sources === null || typeof sources !== 'object' || Array.isArray(sources)) {
    throw new TokenCacheConfigError('sources', messages.config('sources', `expected an object of named token sources, got ${describeValue(sources)}`));
  }
  for (const [name, source] of Object.entries(sources)) {
    if (source === null || typeof source !== 'object' || typeof (source as TokenSource).fetchToken !== 'function') {
      throw new TokenCacheConfigError(
        `sources.${name}`,
        messages.config(`sources.${name}`, 'expected a token source (clientCredentials(), refreshTokenGrant(), tokenFunction(), fileToken() or an object with fetchToken())'),
      );
    }
    // A custom source's own lifetime default has the cache option's floor (the factories check theirs).
    assertLifetimeMs(`sources.${name}.defaultTtlMs`, (source as TokenSource).defaultTtlMs);
  }
  assertPositiveInt('maxEntries', options.maxEntries);
  if (typeof options.maxEntries === 'number' && options.maxEntries > MAX_ENTRIES_LIMIT) {
    throw new TokenCacheConfigError('maxEntries', messages.config('maxEntries', `expected at most ${MAX_ENTRIES_LIMIT}, got ${options.maxEntries}`));
  }
  assertNonNegativeInt('expirySkewMs', options.expirySkewMs);
  assertNonNegativeInt('refreshBeforeExpiryMs', options.refreshBeforeExpiryMs);
  assertLifetimeMs('defaultTtlMs', options.defaultTtlMs);
  assertTimerMs('fetchTimeoutMs', options.fetchTimeoutMs);
  assertTimerMs('cleanupIntervalMs', options.cleanupIntervalMs);
  assertLifetimeMs('maxTtlMs', options.maxTtlMs);
  if (typeof options.maxTtlMs === 'number' && options.maxTtlMs > MAX_TTL_LIMIT_MS) {
    throw new TokenCacheConfigError('maxTtlMs', messages.config('maxTtlMs', `expected at most ${MAX_TTL_LIMIT_MS} ms (ten years), got ${options.maxTtlMs}`));
  }
  assertPositiveInt('maxTokenBytes', options.maxTokenBytes);
  const preload = options.preload === undefined ? [] : options.preload;
  if (!Array.isArray(preload) || preload.some((p) => typeof p !== 'string')) {
    throw new TokenCacheConfigError('preload', messages.config('preload', 'expected an array of source names'));
  }
  for (const name of preload) {
    if (!Object.hasOwn(sources, name)) {
      throw new TokenCacheConfigError('preload', messages.config('preload', `"${name}" is not one of the configured sources`));
    }
  }
  if (options.store !== undefined) {
    const missing = STORE_METHODS.filter((m) => typeof (options.store as unknown as Record<string, unknown>)?.[m] !== 'function');
    if (missing.length) {
      throw new TokenCacheConfigError('store', messages.config('store', `expected a TokenStore; missing ${missing.join(', ')}`));
    }
  }
  assertLogger(options.logger);
  if (options.random !== undefined && typeof options.random !== 'function') {
    throw new TokenCacheConfigError('random', messages.config('random', 'expected a function returning a number in [0, 1)'));
  }
  if (options.meterProvider !== undefined && typeof options.meterProvider?.getMeter !== 'function') {
    throw new TokenCacheConfigError('meterProvider', messages.config('meterProvider', 'expected an OpenTelemetry MeterProvider (an object with getMeter())'));
  }
  if (options.clock !== undefined && typeof options.clock?.now !== 'function') {
    throw new TokenCacheConfigError('clock', messages.config('clock', 'expected an object with now()'));
  }
  return {
    sources,
    store: options.store,
    logger: options.logger === undefined ? undefined : bestEffort(options.logger),
    meterProvider: options.meterProvider,
    maxEntries: options.maxEntries ?? DEFAULTS.maxEntries,
    expirySkewMs: options.expirySkewMs ?? DEFAULTS.expirySkewMs,
    // Unset stays unset: the adaptive refresh window (token-timing.ts).
    refreshBeforeExpiryMs: options.refreshBeforeExpiryMs,
    defaultTtlMs: options.defaultTtlMs ?? DEFAULTS.defaultTtlMs,
    fetchTimeoutMs: options.fetchTimeoutMs ?? DEFAULTS.fetchTimeoutMs,
    cleanupIntervalMs: options.cleanupIntervalMs ?? DEFAULTS.cleanupIntervalMs,
    maxTtlMs: options.maxTtlMs ?? DEFAULTS.maxTtlMs,
    maxTokenBytes: options.maxTokenBytes ?? DEFAULTS.maxTokenBytes,
    preload,
    clock,
    random: options.random ?? Math.random,
  };
}

/**
 * The logger, each call best effort: a logger that throws (a broken transport, a sink that fails) loses that
 * line, never the caller's typed error or the cache's bookkeeping.
 */
function bestEffort(logger: TokenCacheLogger): TokenCacheLogger {
  const call = (method: keyof TokenCacheLogger) => (message: string) => {
    try {
      const result: unknown = logger[method]?.(message);
      // An async logger's failure is lost the same way, not an unhandled rejection.
      if (isPromise(result)) result.then(undefined, () => undefined);
    } catch {
      // the line is lost; nothing else is
    }
  };
  return {
    warn: call('warn'),
    error: call('error'),
    ...(typeof logger.log === 'function' && { log: call('log') }),
    ...(typeof logger.debug === 'function' && { debug: call('debug') }),
  };
}

/** `logger`: callable `warn` and `error`, and `log`/`debug` callable when present (Nest's Logger, console, pino…). */
function assertLogger(logger: unknown): void {
  if (logger === undefined) return;
  if (logger === null || (typeof logger !== 'object' && typeof logger !== 'function')) {
    throw new TokenCacheConfigError('logger', messages.config('logger', `expected an object with warn() and error() (e.g. Nest's Logger or console), got ${describeValue(logger)}`));
  }
  const l = logger as Record<string, unknown>;
  for (const method of ['warn', 'error'] as const) {
    if (typeof l[method] !== 'function') {
      throw new TokenCacheConfigError(`logger.${method}`, messages.config(`logger.${method}`, `expected a function (a logger needs warn() and error()), got ${describeValue(l[method])}`));
    }
  }
  for (const method of ['log', 'debug'] as const) {
    if (l[method] !== undefined && typeof l[method] !== 'function') {
      throw new TokenCacheConfigError(`logger.${method}`, messages.config(`logger.${method}`, `expected a function when present, got ${describeValue(l[method])}`));
    }
  }
}
