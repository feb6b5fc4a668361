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
import { SchedulerRegistry } from '@nestjs/schedule';
import { TokenCache } from '../core/index.js';
import { TOKEN_CACHE_CLEANUP_INTERVAL, TOKEN_CACHE_MODULE_OPTIONS } from './token-cache.constants.js';
import type { TokenCacheModuleOptions } from './token-cache-module-options.interface.js';

@Injectable()
export class TokenCacheService extends TokenCache implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  private static readonly logger = new Logger('TokenCache');
  private ownTimer?: NodeJS.Timeout;
  private registeredInterval = false;

  constructor(
    @Inject(TOKEN_CACHE_MODULE_OPTIONS) options: TokenCacheModuleOptions,
    @Optional() private readonly schedulerRegistry?: SchedulerRegistry,
  ) {
    super({ ...options, logger: options?.logger ?? TokenCacheService.logger });
  }

  onModuleInit(): void {
    const run = () => void this.removeExpired().catch((error: Error) => TokenCacheService.logger.warn(`Token cache cleanup failed: ${error.message}`));
    const interval = setInterval(run, this.options.cleanupIntervalMs);
    if (this.schedulerRegistry) {
      // Registered so that it shows (and can be inspected or stopped) with the app's other schedules.
      if (this.schedulerRegistry.doesExist('interval', TOKEN_CACHE_CLEANUP_INTERVAL)) {
        this.schedulerRegistry.deleteInterval(TOKEN_CACHE_CLEANUP_INTERVAL);
      }
      this.schedulerRegistry.addInterval(TOKEN_CACHE_CLEANUP_INTERVAL, interval);
      this.registeredInterval = true;
    } else {
      // No ScheduleModule.forRoot() in the app: keep cleaning with a timer that never holds the process open.
      interval.unref();
      this.ownTimer = interval;
    }
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.options.preload.length) await this.preload();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopCleanup();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopCleanup();
    await this.close();
  }

  private stopCleanup(): void {
    if (this.ownTimer) {
      clearInterval(this.ownTimer);
      this.ownTimer = undefined;
    }
    if (this.registeredInterval && this.schedulerRegistry?.doesExist('interval', TOKEN_CACHE_CLEANUP_INTERVAL)) {
      this.schedulerRegistry.deleteInterval(TOKEN_CACHE_CLEANUP_INTERVAL);
    }
    this.registeredInterval = false;
  }
}
