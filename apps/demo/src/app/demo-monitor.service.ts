/**
 * What the dashboard and the load script read: the cache's stats and entries, token fetches per source
 * (from `events$`), calls per scenario, the latest events, and the IdP's and API's own counts. Never a token.
 */
import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { TokenCacheService, type TokenCacheEvent, type TokenCacheEntry, type TokenCacheStats, type TokenSourceStatus } from 'nestjs-token-cache';
import type { Subscription } from 'rxjs';
import { DEMO_CONTEXT, type DemoContext } from './demo-context.js';

export interface SourceCounts {
  fetched: number;
  refreshed: number;
  failed: number;
  invalidated: number;
}

export interface ScenarioCounts {
  calls: number;
  failures: number;
  lastStatus?: number;
  lastMs?: number;
}

export interface DemoEventView {
  type: string;
  source: string;
  key: string;
  at: string;
  durationMs?: number;
  error?: { name: string; message: string };
}

export interface DemoState {
  now: number;
  ttlSeconds: number;
  store: string;
  stats: TokenCacheStats;
  entries: (Omit<TokenCacheEntry, 'expiresAt'> & { expiresAt: string })[];
  sources: Record<string, { kind: string; status: TokenSourceStatus } & SourceCounts>;
  scenarios: Record<string, ScenarioCounts>;
  events: DemoEventView[];
  idp?: { total: number; refused: number; counts: { grant: string; client: string; count: number }[] };
  api?: { requests: number; rejected: number; revokedBeforeSeq: number };
  fileRotations: number;
  musicRefreshTokenRotations: number;
  revocations: number;
}

const MAX_EVENTS = 40;

@Injectable()
export class DemoMonitor implements OnModuleInit, OnModuleDestroy {
  private readonly perSource = new Map<string, SourceCounts>();
  private readonly scenarios = new Map<string, ScenarioCounts>();
  private readonly recent: DemoEventView[] = [];
  private subscription?: Subscription;

  constructor(
    private readonly cache: TokenCacheService,
    @Inject(DEMO_CONTEXT) private readonly ctx: DemoContext,
  ) {}

  onModuleInit(): void {
    this.subscription = this.cache.events$.subscribe((event) => this.record(event));
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
  }

  /** Times a scenario call and counts it, failed or not. */
  async track<T>(scenario: string, call: () => Promise<T>): Promise<T> {
    const counts = this.scenarios.get(scenario) ?? { calls: 0, failures: 0 };
    this.scenarios.set(scenario, counts);
    counts.calls++;
    const started = performance.now();
    try {
      const result = await call();
      counts.lastStatus = 200;
      return result;
    } catch (error) {
      counts.failures++;
      counts.lastStatus = (error as { response?: { status?: number } }).response?.status ?? 502;
      throw error;
    } finally {
      counts.lastMs = Math.round((performance.now() - started) * 10) / 10;
    }
  }

  async state(): Promise<DemoState> {
    const world = await this.worldStats();
    const sources: DemoState['sources'] = {};
    for (const name of this.cache.sourceNames()) {
      sources[name] = { kind: this.cache.sourceKind(name), status: this.cache.sourceStatus(name), ...this.countsOf(name) };
    }
    return {
      now: Date.now(),
      ttlSeconds: this.ctx.options.ttlSeconds,
      store: this.cache.store.type,
      stats: this.cache.stats(),
      entries: this.cache
        .entries()
        .map((e) => ({ ...e, expiresAt: e.expiresAt.toISOString() }))
        .sort((a, b) => a.key.localeCompare(b.key)),
      sources,
      scenarios: Object.fromEntries(this.scenarios),
      events: [...this.recent],
      ...world,
      fileRotations: this.ctx.writer.rotations,
      ...this.ctx.counters,
    };
  }

  private countsOf(source: string): SourceCounts {
    let counts = this.perSource.get(source);
    if (!counts) {
      counts = { fetched: 0, refreshed: 0, failed: 0, invalidated: 0 };
      this.perSource.set(source, counts);
    }
    return counts;
  }

  private record(event: TokenCacheEvent): void {
    const counts = this.countsOf(event.source);
    if (event.type === 'fetched') counts.fetched++;
    else if (event.type === 'refreshed') counts.refreshed++;
    else if (event.type === 'fetch_failed') counts.failed++;
    else if (event.type === 'invalidated') counts.invalidated++;
    this.recent.unshift({
      type: event.type,
      source: event.source,
      key: event.key,
      at: event.at.toISOString(),
      ...(event.durationMs !== undefined && { durationMs: event.durationMs }),
      ...(event.error && { error: { name: event.error.name, message: event.error.message } }),
    });
    this.recent.length = Math.min(this.recent.length, MAX_EVENTS);
  }

  /** The IdP's ledger and the API's counts, over HTTP so it works against another instance's IdP too. */
  private async worldStats(): Promise<Pick<DemoState, 'idp' | 'api'>> {
    try {
      const res = await fetch(`${this.ctx.apiUrl}/admin/stats`, { signal: AbortSignal.timeout(1_000) });
      if (!res.ok) return {};
      const { idp, ...api } = (await res.json()) as NonNullable<DemoState['api']> & { idp: DemoState['idp'] };
      return { idp, api };
    } catch {
      return {};
    }
  }
}
