/**
 * OpenTelemetry metrics of the token cache, through `@opentelemetry/api` only: when the app registers no
 * SDK the API hands out no-op instruments, so metrics cost nothing. Counters are observable instruments
 * read from plain per-source numbers the cache keeps anyway, so the warm `getToken` path does no metric
 * work at all; only a finished fetch records into the duration histogram.
 */
import { createRequire } from 'node:module';
import {
  metrics,
  ValueType,
  type Attributes,
  type BatchObservableCallback,
  type Histogram,
  type Meter,
  type MeterProvider,
  type Observable,
  type ObservableCounter,
  type ObservableGauge,
} from '@opentelemetry/api';
import type { TokenCacheCounters } from './token-cache.types.js';

export type { TokenCacheCounters };

/** The instrumentation scope (meter) name. */
export const TOKEN_CACHE_METER_NAME = 'nestjs-token-cache';

/** The metric names. Counters carry the attribute `source`; the fetch duration `source` and `outcome`. */
export const TOKEN_CACHE_METRICS = {
  hits: 'token_cache.hits',
  misses: 'token_cache.misses',
  fetches: 'token_cache.fetches',
  fetchFailures: 'token_cache.fetch_failures',
  refreshesAhead: 'token_cache.refreshes_ahead',
  invalidations: 'token_cache.invalidations',
  evictions: 'token_cache.evictions',
  expiredRemoved: 'token_cache.expired_removed',
  fetchDuration: 'token_cache.fetch.duration',
  entries: 'token_cache.entries',
  inFlight: 'token_cache.in_flight',
} as const;

/** `outcome` of a fetch in `token_cache.fetch.duration`. */
export type TokenFetchOutcome = 'success' | 'failure';


export function createCounters(): TokenCacheCounters {
  return { hits: 0, misses: 0, fetches: 0, fetchFailures: 0, refreshesAhead: 0, invalidations: 0, evictions: 0, expiredRemoved: 0 };
}

/** What the metrics read from the cache at each collection. */
export interface TokenCacheMetricsSource {
  /** Per-source counters, keyed by source name. */
  readonly counters: ReadonlyMap<string, TokenCacheCounters>;
  size(): number;
  inFlight(): number;
}

const COUNTERS: { field: keyof TokenCacheCounters; unit: string; description: string }[] = [
  { field: 'hits', unit: '{call}', description: 'Token requests answered from the cache (refresh-due ones included).' },
  { field: 'misses', unit: '{call}', description: 'Token requests that waited for a fetch (joining one in flight counts).' },
  { field: 'fetches', unit: '{fetch}', description: 'Calls of a token source started, of any kind.' },
  { field: 'fetchFailures', unit: '{fetch}', description: 'Token fetches that failed.' },
  { field: 'refreshesAhead', unit: '{fetch}', description: 'Background refreshes started before a token expired.' },
  { field: 'invalidations', unit: '{entry}', description: 'Entries removed by invalidate().' },
  { field: 'evictions', unit: '{entry}', description: 'Entries evicted as least recently used.' },
  { field: 'expiredRemoved', unit: '{entry}', description: 'Expired entries removed by the cleanup or removeExpired().' },
];

/** Bucket bounds in seconds: token endpoints answer in tens to hundreds of ms, timeouts default to 10 s. */
const DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const VERSION: string | undefined = (() => {
  try {
    // ../../package.json is the library's own from both src/core and dist/core.
    return (createRequire(import.meta.url)('../../package.json') as { version?: string }).version;
  } catch {
    return undefined;
  }
})();

/** The instruments of one cache. `close()` detaches them so a closed cache is no longer observed. */
export class TokenCacheMetrics {
  private readonly meter: Meter;
  private readonly duration: Histogram;
  private readonly observables: Observable[];
  private readonly callback: BatchObservableCallback;
  private closed = false;

  constructor(meterProvider: MeterProvider | undefined, source: TokenCacheMetricsSource) {
    this.meter = (meterProvider ?? metrics.getMeterProvider()).getMeter(TOKEN_CACHE_METER_NAME, VERSION);
    this.duration = this.meter.createHistogram(TOKEN_CACHE_METRICS.fetchDuration, {
      description: 'Duration of token fetches, by source and outcome.',
      unit: 's',
      valueType: ValueType.DOUBLE,
      advice: { explicitBucketBoundaries: DURATION_BUCKETS_S },
    });
    const counters = COUNTERS.map(({ field, unit, description }) => ({
      field,
      instrument: this.meter.createObservableCounter(TOKEN_CACHE_METRICS[field], { description, unit, valueType: ValueType.INT }),
    }));
    const entries: ObservableGauge = this.meter.createObservableGauge(TOKEN_CACHE_METRICS.entries, {
      description: 'Entries held in this process.',
      unit: '{entry}',
      valueType: ValueType.INT,
    });
    const inFlight: ObservableGauge = this.meter.createObservableGauge(TOKEN_CACHE_METRICS.inFlight, {
      description: 'Token fetches in flight.',
      unit: '{fetch}',
      valueType: ValueType.INT,
    });
    this.observables = [...counters.map((c) => c.instrument as ObservableCounter), entries, inFlight];
    this.callback = (result) => {
      for (const [name, values] of source.counters) {
        const attributes: Attributes = { source: name };
        for (const { field, instrument } of counters) result.observe(instrument, values[field], attributes);
      }
      result.observe(entries, source.size());
      result.observe(inFlight, source.inFlight());
    };
    this.meter.addBatchObservableCallback(this.callback, this.observables);
  }

  /** A fetch finished; only the source name and the outcome become attributes. */
  recordFetch(source: string, outcome: TokenFetchOutcome, durationMs: number): void {
    if (!this.closed) this.duration.record(Math.max(0, durationMs) / 1000, { source, outcome });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.meter.removeBatchObservableCallback(this.callback, this.observables);
  }
}
