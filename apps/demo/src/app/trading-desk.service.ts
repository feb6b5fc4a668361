/**
 * The trading scenario: several bots, each its own client instance with its own axios instance, all
 * attached to the one cache. Bots of the same API user on the same API URL share one token; a second
 * user, or the same user on another gateway, gets its own.
 */
import { Inject, Injectable, NotFoundException, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import axios, { type AxiosInstance } from 'axios';
import { TokenCacheService } from 'nestjs-token-cache';
import { TRADING_BOTS } from '../demo.config.js';
import { DEMO_CONTEXT, type DemoContext } from './demo-context.js';
import { SOURCES } from './demo-sources.js';

export class TradingClient {
  readonly http: AxiosInstance;
  private detach?: () => void;

  constructor(
    readonly bot: string,
    readonly apiUrl: string,
    readonly user: string,
  ) {
    this.http = axios.create({ baseURL: apiUrl, timeout: 10_000 });
  }

  /** One token per API user and API URL: the user is the subject, the URL the audience. */
  attach(cache: TokenCacheService): void {
    this.detach = cache.attach(this.http, { source: SOURCES.trading, subject: this.user, audience: this.apiUrl });
  }

  detachFromCache(): void {
    this.detach?.();
    this.detach = undefined;
  }

  async accounts(): Promise<unknown> {
    const { data } = await this.http.post('/api/Account/search', { onlyActiveAccounts: true });
    return data;
  }
}

@Injectable()
export class TradingDesk implements OnModuleInit, OnModuleDestroy {
  readonly clients: TradingClient[];

  constructor(
    private readonly cache: TokenCacheService,
    @Inject(DEMO_CONTEXT) ctx: DemoContext,
  ) {
    this.clients = TRADING_BOTS.map((b) => new TradingClient(b.bot, `${ctx.apiUrl}/projectx/${b.venue}`, b.user));
  }

  /** Interceptors go on in onModuleInit and off in onModuleDestroy, as @nestjs/axios does. */
  onModuleInit(): void {
    for (const c of this.clients) c.attach(this.cache);
  }

  client(bot: string): TradingClient {
    const client = this.clients.find((c) => c.bot === bot);
    if (!client) throw new NotFoundException(`no trading bot "${bot}"; try one of ${this.clients.map((c) => c.bot).join(', ')}`);
    return client;
  }

  onModuleDestroy(): void {
    for (const c of this.clients) c.detachFromCache();
  }
}
