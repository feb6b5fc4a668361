import { Inject, Injectable, Logger, Module, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  TOKEN_CACHE_CLEANUP_INTERVAL,
  TokenCacheConfigError,
  TokenCacheModule,
  TokenCacheService,
  tokenFunction,
  type TokenCacheModuleOptions,
  type TokenCacheOptionsFactory,
} from 'nestjs-token-cache';
import { FakeClock } from '../libs/token-cache/src/core/testing/fake-clock.js';

function countingSource() {
  const source = tokenFunction(() => ({ accessToken: `token-${++source.calls}`, expiresIn: 3600 })) as ReturnType<typeof tokenFunction> & { calls: number };
  source.calls = 0;
  return source;
}

class CapturingLogger implements LoggerService {
  readonly lines: { level: string; message: string }[] = [];
  log = (message: string) => this.lines.push({ level: 'log', message });
  warn = (message: string) => this.lines.push({ level: 'warn', message });
  error = (message: string) => this.lines.push({ level: 'error', message });
  debug = (message: string) => this.lines.push({ level: 'debug', message });
  verbose = () => undefined;
}

async function boot(imports: unknown[], providers: unknown[] = [], logger: LoggerService | false = false) {
  @Module({ imports: imports as never[], providers: providers as never[] })
  class AppModule {}
  return NestFactory.createApplicationContext(AppModule, { logger, abortOnError: false });
}

const timersOpen = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

@Injectable()
class ConsumerA {
  constructor(readonly cache: TokenCacheService) {}
}
@Injectable()
class ConsumerB {
  constructor(readonly cache: TokenCacheService) {}
}

describe('TokenCacheModule', () => {
  afterEach(() => vi.useRealTimers());

  it('forRoot is global: every module gets the same TokenCacheService, whatever it imports', async () => {
    const api = countingSource();
    @Module({ providers: [ConsumerA], exports: [ConsumerA] })
    class FeatureA {}
    @Module({ imports: [TokenCacheModule], providers: [ConsumerB], exports: [ConsumerB] })
    class FeatureB {}
    const app = await boot([TokenCacheModule.forRoot({ sources: { api } }), FeatureA, FeatureB]);
    const a = app.get(ConsumerA).cache;
    const b = app.get(ConsumerB).cache;
    expect(a).toBe(b);
    expect(a).toBe(app.get(TokenCacheService));
    await Promise.all([a.getToken('api'), b.getToken('api'), a.getToken('api')]);
    expect(api.calls).toBe(1);
    await app.close();
  });

  it('isGlobal: false keeps the service to the importing module', async () => {
    @Module({ providers: [ConsumerA] })
    class Feature {}
    await expect(boot([TokenCacheModule.forRoot({ isGlobal: false, sources: { api: countingSource() } }), Feature])).rejects.toThrow(/TokenCacheService/);
  });

  it('two global forRoot() imports fail at start, naming the mistake; two with isGlobal: false are fine (below)', async () => {
    @Module({ imports: [TokenCacheModule.forRoot({ sources: { b: countingSource() } })] })
    class Feature {}
    const error = await boot([TokenCacheModule.forRoot({ sources: { a: countingSource() } }), Feature]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TokenCacheConfigError);
    expect(error).toMatchObject({ option: 'forRoot', message: expect.stringMatching(/imported 2 times as a global module.*Import it once/) });
  });

  it('forRootAsync with useFactory and inject', async () => {
    const CONFIG = Symbol('CONFIG');
    @Module({ providers: [{ provide: CONFIG, useValue: { ttl: 1234 } }], exports: [CONFIG] })
    class ConfigModule {}
    const api = countingSource();
    const app = await boot([
      TokenCacheModule.forRootAsync({
        imports: [ConfigModule],
        inject: [CONFIG],
        useFactory: async (config: { ttl: number }) => ({ sources: { api }, defaultTtlMs: config.ttl }),
      }),
    ]);
    const cache = app.get(TokenCacheService);
    expect(await cache.getToken('api')).toBe('token-1');
    await app.close();
  });

  it('forRootAsync with useClass and useExisting (createTokenCacheOptions)', async () => {
    @Injectable()
    class OptionsFactory implements TokenCacheOptionsFactory {
      createTokenCacheOptions(): TokenCacheModuleOptions {
        return { sources: { fromClass: tokenFunction(() => 'c') } };
      }
    }
    const app = await boot([TokenCacheModule.forRootAsync({ useClass: OptionsFactory })]);
    expect(await app.get(TokenCacheService).getToken('fromClass')).toBe('c');
    await app.close();

    @Module({ providers: [OptionsFactory], exports: [OptionsFactory] })
    class FactoryModule {}
    const app2 = await boot([TokenCacheModule.forRootAsync({ imports: [FactoryModule], useExisting: OptionsFactory })]);
    expect(await app2.get(TokenCacheService).getToken('fromClass')).toBe('c');
    await app2.close();
  });

  it('a bad option fails the app at start with TokenCacheConfigError naming it', async () => {
    const sources = { api: countingSource() };
    await expect(boot([TokenCacheModule.forRoot({ sources, maxEntries: 0 })])).rejects.toMatchObject({ name: 'TokenCacheConfigError', option: 'maxEntries' });
    await expect(boot([TokenCacheModule.forRootAsync({ useFactory: () => ({ sources, expirySkewMs: -1 }) })])).rejects.toBeInstanceOf(TokenCacheConfigError);
    await expect(boot([TokenCacheModule.forRootAsync({ useFactory: () => ({ sources, fetchTimeoutMs: 'x' as never }) })])).rejects.toThrow(/"fetchTimeoutMs"/);
  });

  it('registers the cleanup as the interval token-cache:cleanup when the app imports ScheduleModule.forRoot()', async () => {
    const clock = new FakeClock();
    const api = countingSource();
    const app = await boot([ScheduleModule.forRoot(), TokenCacheModule.forRoot({ sources: { api }, clock, cleanupIntervalMs: 60_000 })]);
    const registry = app.get(SchedulerRegistry);
    expect(registry.doesExist('interval', TOKEN_CACHE_CLEANUP_INTERVAL)).toBe(true);
    const cache = app.get(TokenCacheService);
    await cache.getToken('api');
    clock.advance(3_600_000);
    expect(cache.entries()[0]!.state).toBe('expired');
    // The registered interval is the cleanup: run its callback as the scheduler would.
    const interval = registry.getInterval(TOKEN_CACHE_CLEANUP_INTERVAL) as NodeJS.Timeout & { _onTimeout(): void };
    interval._onTimeout();
    await vi.waitFor(() => expect(cache.stats().expiredRemoved).toBe(1));
    await app.close();
    expect(registry.doesExist('interval', TOKEN_CACHE_CLEANUP_INTERVAL)).toBe(false);
  });

  it('still cleans up on an unref\'d timer of its own without ScheduleModule, every cleanupIntervalMs', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const clock = new FakeClock();
    const app = await boot([TokenCacheModule.forRoot({ sources: { api: countingSource() }, clock, cleanupIntervalMs: 60_000 })]);
    const cache = app.get(TokenCacheService);
    await cache.getToken('api');
    clock.advance(3_600_000);
    vi.advanceTimersByTime(59_999);
    expect(cache.stats().expiredRemoved).toBe(0);
    vi.advanceTimersByTime(1);
    await vi.waitFor(() => expect(cache.stats().expiredRemoved).toBe(1));
    await app.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('two caches (isGlobal: false) each keep cleaning: the second does not take over the first one\'s interval', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const clockA = new FakeClock();
    const clockB = new FakeClock();
    @Module({ imports: [TokenCacheModule.forRoot({ isGlobal: false, sources: { a: countingSource() }, clock: clockA, cleanupIntervalMs: 60_000 })], providers: [ConsumerA], exports: [ConsumerA] })
    class ModA {}
    @Module({ imports: [TokenCacheModule.forRoot({ isGlobal: false, sources: { b: countingSource() }, clock: clockB, cleanupIntervalMs: 60_000 })], providers: [ConsumerB], exports: [ConsumerB] })
    class ModB {}
    const app = await boot([ScheduleModule.forRoot(), ModA, ModB]);
    const a = app.get(ConsumerA).cache;
    const b = app.get(ConsumerB).cache;
    expect(a).not.toBe(b);
    await a.getToken('a');
    await b.getToken('b');
    clockA.advance(3_600_000);
    clockB.advance(3_600_000);
    vi.advanceTimersByTime(60_000);
    await vi.waitFor(() => expect([a.stats().expiredRemoved, b.stats().expiredRemoved]).toEqual([1, 1]));
    const registry = app.get(SchedulerRegistry);
    const registered = registry.getInterval(TOKEN_CACHE_CLEANUP_INTERVAL);
    await app.close();
    expect(registry.doesExist('interval', TOKEN_CACHE_CLEANUP_INTERVAL)).toBe(false);
    expect(registered).toBeDefined();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('app.close() leaves no timer open', async () => {
    const before = timersOpen();
    const app = await boot([ScheduleModule.forRoot(), TokenCacheModule.forRoot({ sources: { api: countingSource() } })]);
    await app.get(TokenCacheService).getToken('api');
    await app.close();
    expect(timersOpen()).toBe(before);
    const app2 = await boot([TokenCacheModule.forRoot({ sources: { api: countingSource() } })]);
    await app2.close();
    expect(timersOpen()).toBe(before);
  });

  it('fetches nothing at bootstrap but the preload sources; a preload failure is logged, not fatal', async () => {
    const api = countingSource();
    const other = countingSource();
    const broken = tokenFunction(() => {
      throw new Error('IdP unreachable');
    });
    const logger = new CapturingLogger();
    const app = await boot([TokenCacheModule.forRoot({ sources: { api, other, broken }, preload: ['api', 'broken'] })], [], logger);
    expect(api.calls).toBe(1);
    expect(other.calls).toBe(0);
    expect(app.get(TokenCacheService).peek('api')).toBeDefined();
    expect(logger.lines.some((l) => l.level === 'warn' && l.message.includes('"broken"'))).toBe(true);
    await app.close();
  });

  it('a bad preload name fails the app at start', async () => {
    await expect(boot([TokenCacheModule.forRoot({ sources: { api: countingSource() }, preload: ['nope'] })])).rejects.toMatchObject({ option: 'preload' });
  });

  it('logs through Nest\'s Logger', async () => {
    const logger = new CapturingLogger();
    const app = await boot([TokenCacheModule.forRoot({ sources: { bad: tokenFunction(() => Promise.reject(new Error('no'))) } })], [], logger);
    await app.get(TokenCacheService).getToken('bad').catch(() => undefined);
    expect(logger.lines.some((l) => l.level === 'warn' && l.message.includes('"bad"'))).toBe(true);
    await app.close();
    Logger.flush();
  });
});
