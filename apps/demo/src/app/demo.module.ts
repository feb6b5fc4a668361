/** The demo Nest app: every part of the suite wired the way a user would. */
import { Module, type DynamicModule } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TerminusModule } from '@nestjs/terminus';
import { TokenCacheModule, type TokenStore } from 'nestjs-token-cache';
import { AdminKeyGuard } from './admin-key.guard.js';
import { DashboardController } from './dashboard.controller.js';
import { DEMO_CONTEXT, type DemoContext } from './demo-context.js';
import { DemoMonitor } from './demo-monitor.service.js';
import { buildDemoSources, SOURCES } from './demo-sources.js';
import { TokenCacheHealthIndicator } from './fallbacks.js';
import { featureClientModules } from './feature-clients.js';
import { FileRotationService } from './file-rotation.service.js';
import { HealthController } from './health.controller.js';
import { ScenariosController } from './scenarios.controller.js';
import { TradingDesk } from './trading-desk.service.js';

@Module({})
export class DemoModule {
  static register(ctx: DemoContext, store?: TokenStore): DynamicModule {
    const ttlMs = ctx.options.ttlSeconds * 1000;
    return {
      module: DemoModule,
      imports: [
        ScheduleModule.forRoot(),
        TerminusModule,
        TokenCacheModule.forRoot({
          sources: buildDemoSources(ctx),
          ...(store && { store }),
          // Scaled to the demo's short tokens: usable until 10 % before expiry, refreshed from half-life on
          // (refreshBeforeExpiryMs' default is capped at half the lifetime), expired ones swept every lifetime.
          expirySkewMs: Math.min(30_000, Math.round(ttlMs / 10)),
          cleanupIntervalMs: ttlMs,
          preload: [SOURCES.gateway],
          admin: { enabled: true, path: 'token-cache', guards: [AdminKeyGuard] },
        }),
        ...featureClientModules(ctx),
      ],
      controllers: [DashboardController, ScenariosController, HealthController],
      providers: [{ provide: DEMO_CONTEXT, useValue: ctx }, AdminKeyGuard, DemoMonitor, TradingDesk, FileRotationService, TokenCacheHealthIndicator],
    };
  }
}
