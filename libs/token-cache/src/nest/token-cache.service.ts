/** The Nest face of the core `TokenCache`: the same methods, plus lifecycle (cleanup, preload, close). */
import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { SchedulerRegistry } from '@nestjs/schedule';
import { TokenCache, TokenCacheConfigError } from '../core/index.js';
import { TOKEN_CACHE_CLEANUP_INTERVAL, TOKEN_CACHE_MODULE_OPTIONS } from './token-cache.constants.js';
import type { TokenCacheModuleOptions } from './token-cache-module-options.interface.js';

@Injectable()
export class TokenCacheService extends TokenCache implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  private static readonly logger = new Logger('TokenCache');
  private cleanupTimer?: NodeJS.Timeout;

  constructor(
    @Inject(TOKEN_CACHE_MODULE_OPTIONS) options: TokenCacheModuleOptions,
    @Optional() private readonly schedulerRegistry?: SchedulerRegistry,
    @Optional() private readonly modules?: ModulesContainer,
  ) {
    super({ ...options, logger: options?.logger ?? TokenCacheService.logger });
  }

  /**
   * Throws TokenCacheConfigError (option `forRoot`) when the app imports more than one global
   * `TokenCacheModule.forRoot()`/`forRootAsync()`: only one of them would be injected, and the sources of the
   * others would be unknown at run time. Runs before anything starts.
   */
  onModuleInit(): void {
    this.assertOneGlobalCache();
    const run = () => void this.removeExpired().catch((error: Error) => TokenCacheService.logger.warn(`Token cache cleanup failed: ${error.message}`));
    const timer = setInterval(run, this.options.cleanupIntervalMs);
    this.cleanupTimer = timer;
    if (this.schedulerRegistry !== undefined && !this.schedulerRegistry.doesExist('interval', TOKEN_CACHE_CLEANUP_INTERVAL)) {
      // Registered so that it shows (and can be inspected or stopped) with the app's other schedules.
      this.schedulerRegistry.addInterval(TOKEN_CACHE_CLEANUP_INTERVAL, timer);
    } else {
      // No ScheduleModule.forRoot() in the app, or another cache (isGlobal: false) holds the name: keep
      // cleaning with a timer that never holds the process open.
      timer.unref();
    }
  }

  private assertOneGlobalCache(): void {
    if (this.modules === undefined) return;
    let global = 0;
    for (const module of this.modules.values()) {
      if (module.isGlobal && module.providers.get(TokenCacheService)?.instance instanceof TokenCacheService) global++;
    }
    if (global > 1) {
      throw new TokenCacheConfigError(
        'forRoot',
        `TokenCacheModule.forRoot()/forRootAsync() is imported ${global} times as a global module: only one of them would be injected, and the sources of the others would be unknown at run time. Import it once, in the root module, with all sources (use TokenCacheModule.forFeature() for clients in feature modules), or give each "isGlobal: false" to keep separate caches`,
      );
    }
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.options.preload.length) await this.preload();
  }

  onModuleDestroy(): void {
    const timer = this.cleanupTimer;
    if (timer === undefined) return;
    this.cleanupTimer = undefined;
    clearInterval(timer);
    // Only our own registration: another cache's interval under the same name stays.
    const registry = this.schedulerRegistry;
    if (registry?.doesExist('interval', TOKEN_CACHE_CLEANUP_INTERVAL) && registry.getInterval(TOKEN_CACHE_CLEANUP_INTERVAL) === timer) {
      registry.deleteInterval(TOKEN_CACHE_CLEANUP_INTERVAL);
    }
  }

  /** After every onModuleDestroy (app.close() runs those first): sources, watchers and the store close last. */
  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }
}
