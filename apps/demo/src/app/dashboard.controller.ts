/** The live dashboard (`/`), its data (`/demo/state`, `/demo/events` as server-sent events) and its buttons. */
import { readFile } from 'node:fs/promises';
import { Controller, Get, Header, HttpCode, Inject, Post, Sse, type MessageEvent, type OnModuleDestroy } from '@nestjs/common';
import { TokenCacheService } from 'nestjs-token-cache';
import { map, Subject, takeUntil, type Observable } from 'rxjs';
import { DEMO_CONTEXT, type DemoContext } from './demo-context.js';
import { DemoMonitor } from './demo-monitor.service.js';

/** apps/demo/public: the same relative path from src/app (tests) and dist/app (npm start). */
const DASHBOARD = new URL('../../public/index.html', import.meta.url);

@Controller()
export class DashboardController implements OnModuleDestroy {
  private page?: Promise<string>;
  private readonly closing = new Subject<void>();

  constructor(
    private readonly monitor: DemoMonitor,
    private readonly cache: TokenCacheService,
    @Inject(DEMO_CONTEXT) private readonly ctx: DemoContext,
  ) {}

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-store')
  dashboard(): Promise<string> {
    this.page ??= readFile(DASHBOARD, 'utf8');
    return this.page;
  }

  @Get('demo/state')
  @Header('cache-control', 'no-store')
  state() {
    return this.monitor.state();
  }

  /** Every cache event as it happens; the page refreshes its numbers on each. */
  @Sse('demo/events')
  events(): Observable<MessageEvent> {
    return this.cache.events$.pipe(
      map((e) => ({
        type: 'cache',
        data: { type: e.type, source: e.source, key: e.key, at: e.at.toISOString(), durationMs: e.durationMs, error: e.error },
      })),
      // An open dashboard must not keep app.close() waiting: the streams end before the HTTP server closes.
      takeUntil(this.closing),
    );
  }

  onModuleDestroy(): void {
    this.closing.next();
    this.closing.complete();
  }

  /**
   * Revokes every token the API has seen: the next calls get 401, and the interceptor refetches and
   * retries. The sidecar writes fresh token files first (they are exempt by `seq`), as a real sidecar
   * rotates right after a revocation.
   */
  @Post('demo/revoke')
  @HttpCode(200)
  async revoke() {
    const keepFromSeq = await this.ctx.writer.rotate();
    const res = await fetch(`${this.ctx.apiUrl}/admin/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ beforeSeq: keepFromSeq }),
      signal: AbortSignal.timeout(5_000),
    });
    if (!res.ok) throw new Error(`the resource API refused the revocation (${res.status})`);
    this.ctx.counters.revocations++;
    return { revoked: true, ...((await res.json()) as object) };
  }

  @Post('demo/rotate-files')
  @HttpCode(200)
  async rotateFiles() {
    await this.ctx.writer.rotate();
    return { rotations: this.ctx.writer.rotations };
  }
}
