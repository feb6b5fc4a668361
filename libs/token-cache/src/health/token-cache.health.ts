/**
 * A terminus 12 health indicator for the token cache. It only reads what the cache already knows (source
 * states, stats, the store's reachability): a health probe never calls a token endpoint.
 */
import { Injectable, Optional } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { TokenCacheConfigError, UnknownTokenSourceError, type TokenSourceState } from '../core/index.js';
import { isSourceDown } from '../core/source-status.js';
import { describeError } from '../core/token-cache.errors.js';
import { messages } from '../core/token-cache.messages.js';
import { TokenCacheService } from '../nest/token-cache.service.js';
import { healthMessages } from './token-cache.health.messages.js';
import { assertOptionsObject, describeValue, optionNames } from '../core/validate.js';

export interface TokenCacheHealthOptions {
  /**
   * The sources that decide the status (and are shown). Default: every configured source is shown, and
   * any source that has been used decides.
   */
  sources?: string[];
}

/** One source in the health details. `lastError` never holds a token or a secret. */
export interface TokenCacheSourceHealth {
  state: TokenSourceState;
  expiresInMs?: number;
  consecutiveFailures: number;
  lastError?: { name: string; message: string; at?: Date };
}

/** The details of the indicator's key (besides `status`). */
export interface TokenCacheHealthDetails {
  [detail: string]: unknown;
  size: number;
  hitRate: number;
  store: { type: string; reachable: boolean };
  sources: Record<string, TokenCacheSourceHealth>;
}

const HEALTH_OPTION_NAMES = optionNames<TokenCacheHealthOptions>()('sources');

@Injectable()
export class TokenCacheHealthIndicator {
  constructor(
    private readonly healthIndicatorService: HealthIndicatorService,
    private readonly moduleRef: ModuleRef,
    @Optional() private cache?: TokenCacheService,
  ) {}

  /**
   * Up unless a listed source (without `sources`: any used source) has no usable token and its fetches fail:
   * `failing`, or `waiting` (callers wait on a fetch) after a fetch failed or timed out. A source whose refresh
   * failed while its token is still usable stays up; so does a first fetch still within its timeout.
   * Never throws: a problem reading the cache is reported as down.
   */
  async isHealthy<const Key extends string = 'token-cache'>(
    key: Key = 'token-cache' as Key,
    options: TokenCacheHealthOptions = {},
  ): Promise<HealthIndicatorResult<Key>> {
    const indicator = this.healthIndicatorService.check(key);
    try {
      const cache = this.resolveCache();
      // A typo'd option would silently widen the check to every source: reported as down, naming it.
      assertOptionsObject('isHealthy', options, HEALTH_OPTION_NAMES);
      const listed = options.sources;
      if (listed !== undefined && (!Array.isArray(listed) || listed.some((s) => typeof s !== 'string'))) {
        throw new TokenCacheConfigError('isHealthy.sources', messages.config('isHealthy.sources', `expected an array of source names, got ${describeValue(listed)}`));
      }
      const names = listed ?? cache.sourceNames();
      const configured = new Set(cache.sourceNames());
      const sources: Record<string, TokenCacheSourceHealth> = {};
      let up = true;
      for (const name of names) {
        if (!configured.has(name)) {
          // A health check naming a source that does not exist is a misconfiguration worth failing on.
          sources[name] = { state: 'failing', consecutiveFailures: 0, lastError: describeError(new UnknownTokenSourceError(name, messages.unknownSource(name, [...configured]))) };
          up = false;
          continue;
        }
        const status = cache.sourceStatus(name);
        sources[name] = status;
        if (isSourceDown(status) && (listed !== undefined || cache.isSourceUsed(name))) up = false;
      }
      const stats = cache.stats();
      const details: TokenCacheHealthDetails = {
        size: stats.size,
        hitRate: stats.hitRate,
        store: { type: cache.store.type, reachable: cache.store.reachable },
        sources,
      };
      return up ? indicator.up(details) : indicator.down(details);
    } catch (error) {
      return indicator.down({ error: describeError(error) });
    }
  }

  /** Injected when the cache module is global (the default); else found anywhere in the app (`isGlobal: false`). */
  private resolveCache(): TokenCacheService {
    if (this.cache !== undefined) return this.cache;
    let found: TokenCacheService | undefined;
    try {
      found = this.moduleRef.get(TokenCacheService, { strict: false });
    } catch {
      found = undefined;
    }
    if (found === undefined) throw new TokenCacheConfigError('TokenCacheHealthIndicator', healthMessages.noCache());
    return (this.cache = found);
  }
}
