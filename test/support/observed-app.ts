/**
 * Boots a real Nest HTTP app (platform-express on 127.0.0.1, port 0) with TerminusModule and
 * ScheduleModule.forRoot(), a /health route backed by TokenCacheHealthIndicator, and a logger that keeps
 * every line, so tests can read health, admin replies and logs the way an operator would.
 */
import { Controller, Get, Module, Query, type DynamicModule, type INestApplication, type LoggerService, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { TokenCacheHealthIndicator } from 'nestjs-token-cache/health';
import { tokenFunction, type TokenResponse, type TokenSource } from 'nestjs-token-cache/core';

export interface LogLine {
  level: 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';
  message: string;
  context?: string;
}

/** A Nest LoggerService that keeps every line (all levels), for log-level and secret-scan assertions. */
export class CapturingLogger implements LoggerService {
  readonly lines: LogLine[] = [];
  private push(level: LogLine['level'], message: unknown, rest: unknown[]) {
    const context = typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined;
    const text = typeof message === 'string' ? message : message instanceof Error ? `${message.name}: ${message.message}\n${message.stack}` : JSON.stringify(message);
    // Extra parameters (stacks, objects) are part of what a real logger would print.
    const extra = rest.slice(0, context === undefined ? rest.length : -1).map((r) => (typeof r === 'string' ? r : JSON.stringify(r)));
    this.lines.push({ level, message: [text, ...extra].join(' '), context });
  }
  log(message: unknown, ...rest: unknown[]) {
    this.push('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]) {
    this.push('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]) {
    this.push('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]) {
    this.push('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]) {
    this.push('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]) {
    this.push('fatal', message, rest);
  }
  /** Lines of the token cache (context `TokenCache`). */
  tokenCache(): LogLine[] {
    return this.lines.filter((l) => l.context === 'TokenCache');
  }
}

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly tokenCache: TokenCacheHealthIndicator,
  ) {}

  /** `GET /health` or `GET /health?sources=a,b` (only those sources count). */
  @Get()
  @HealthCheck()
  check(@Query('sources') sources?: string) {
    const options = sources === undefined ? {} : { sources: sources.split(',') };
    return this.health.check([() => this.tokenCache.isHealthy('token-cache', options)]);
  }
}

@Module({ imports: [TerminusModule], controllers: [HealthController], providers: [TokenCacheHealthIndicator] })
class HealthModule {}

export interface ObservedApp {
  app: INestApplication;
  url: string;
  logger: CapturingLogger;
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; body: any; text: string }>;
  del(path: string, headers?: Record<string, string>): Promise<{ status: number; body: any; text: string }>;
  close(): Promise<void>;
}

export async function bootObservedApp(
  tokenCache: DynamicModule,
  extra: { providers?: Type[]; controllers?: Type[]; imports?: (DynamicModule | Type)[] } = {},
): Promise<ObservedApp> {
  @Module({ imports: [ScheduleModule.forRoot(), tokenCache, HealthModule, ...(extra.imports ?? [])], providers: extra.providers ?? [], controllers: extra.controllers ?? [] })
  class AppModule {}
  const logger = new CapturingLogger();
  const app = await NestFactory.create(AppModule, { logger, abortOnError: false });
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const call = async (method: string, path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${url}${path}`, { method, headers });
    const text = await res.text();
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, body, text };
  };
  return {
    app,
    url,
    logger,
    get: (path, headers) => call('GET', path, headers),
    del: (path, headers) => call('DELETE', path, headers),
    close: () => app.close(),
  };
}

/** A source whose behaviour a test switches: answer with a token, or fail like an IdP would. */
export interface SwitchableSource extends TokenSource {
  calls: number;
  /** Next replies: a token response (numbered), or this error thrown. */
  failWith?: Error;
  ttlS: number;
}

export function switchableSource(prefix = 'token'): SwitchableSource {
  const state = { calls: 0, failWith: undefined as Error | undefined, ttlS: 600 };
  const inner = tokenFunction((): TokenResponse => {
    state.calls++;
    if (state.failWith) throw state.failWith;
    return { accessToken: `${prefix}-${state.calls}`, expiresIn: state.ttlS };
  });
  return Object.defineProperties(inner, {
    calls: { get: () => state.calls },
    failWith: { get: () => state.failWith, set: (e: Error | undefined) => (state.failWith = e) },
    ttlS: { get: () => state.ttlS, set: (v: number) => (state.ttlS = v) },
  }) as SwitchableSource;
}
