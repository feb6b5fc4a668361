/** The demo Nest app: every part of the suite wired the way a user would. */
import { HttpModule } from '@nestjs/axios';
import { Global, Module, type DynamicModule } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TerminusModule } from '@nestjs/terminus';
import { TokenCacheModule, type TokenStore } from 'nestjs-token-cache';
import { AdminKeyGuard } from './admin-key.guard.js';
import { DashboardController } from './dashboard.controller.js';
import { DEMO_CONTEXT, type DemoContext } from './demo-context.js';
import { DemoMonitor } from './demo-monitor.service.js';
import { DemoUsers } from './demo-users.service.js';
import { buildDemoSources, SOURCES } from './demo-sources.js';
import { TokenCacheHealthIndicator } from 'nestjs-token-cache/health';
import { featureClientModules } from './feature-clients.js';
import { FileRotationService } from './file-rotation.service.js';
import { HealthController } from './health.controller.js';
import { InventoryService } from './inventory.service.js';
import { ScenariosController } from './scenarios.controller.js';
import { TradingDesk } from './trading-desk.service.js';

/** Global so that the admin guard, which the token cache module instantiates, can read the admin key. */
@Global()
@Module({})
class DemoContextModule {
  static register(ctx: DemoContext): DynamicModule {
    return { module: DemoContextModule, providers: [{ provide: DEMO_CONTEXT, useValue: ctx }], exports: [DEMO_CONTEXT] };
  }
}

@Module({})
export class DemoModule {
  static register(ctx: DemoContext, store?: TokenStore): DynamicModule {
    const ttlMs = ctx.options.ttlSeconds * 1000;
    return {
      module: DemoModule,
      imports: [
        DemoContextModule.register(ctx),
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
        HttpModule.register({ baseURL: `${ctx.apiUrl}/gateway`, timeout: 10_000 }),
      ],
      controllers: [DashboardController, ScenariosController, HealthController],
      providers: [DemoMonitor, DemoUsers, TradingDesk, FileRotationService, InventoryService, TokenCacheHealthIndicator],
    };
  }
}
