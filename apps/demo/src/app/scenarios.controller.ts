/** One route per scenario: each calls the protected API through the token cache and answers what it got. */
import { Controller, Get, HttpException, HttpStatus, Param } from '@nestjs/common';
import type { AxiosInstance } from 'axios';
import { InjectTokenClient } from 'nestjs-token-cache';
import { TOKEN_FILES } from '../demo.config.js';
import { DemoMonitor } from './demo-monitor.service.js';
import { SOURCES } from './demo-sources.js';
import { InventoryService } from './inventory.service.js';
import { TradingDesk } from './trading-desk.service.js';

@Controller()
export class ScenariosController {
  constructor(
    private readonly desk: TradingDesk,
    private readonly monitor: DemoMonitor,
    private readonly inventory: InventoryService,
    @InjectTokenClient('gateway') private readonly gateway: AxiosInstance,
    @InjectTokenClient('music') private readonly music: AxiosInstance,
    @InjectTokenClient(SOURCES.file('reports')) private readonly reports: AxiosInstance,
    @InjectTokenClient(SOURCES.file('billing')) private readonly billing: AxiosInstance,
  ) {}

  /** The scenario routes, for the dashboard's buttons and the load script. */
  @Get('scenarios')
  scenarios() {
    return {
      routes: [
        ...this.desk.clients.map((c) => ({ scenario: 'trading', path: `/trading/${c.bot}/accounts`, detail: `${c.user} @ ${new URL(c.apiUrl).pathname.split('/').pop()}` })),
        { scenario: 'music', path: '/music/now-playing', detail: 'refresh-token grant' },
        ...TOKEN_FILES.map((f) => ({ scenario: 'files', path: `/files/${f.name}`, detail: `${f.file} (${f.format})` })),
        { scenario: 'gateway', path: '/gateway/orders', detail: 'client credentials' },
        { scenario: 'gateway', path: '/gateway/inventory', detail: 'same token, via HttpService' },
      ],
    };
  }

  @Get('trading/:bot/accounts')
  trading(@Param('bot') bot: string) {
    const client = this.desk.client(bot);
    return this.call(SOURCES.trading, async () => ({ bot, user: client.user, apiUrl: client.apiUrl, ...(await client.accounts() as object) }));
  }

  @Get('music/now-playing')
  nowPlaying() {
    return this.call(SOURCES.music, async () => (await this.music.get('/me/player/currently-playing')).data);
  }

  @Get('files/:name')
  file(@Param('name') name: string) {
    const client = name === 'reports' ? this.reports : name === 'billing' ? this.billing : undefined;
    if (!client) throw new HttpException(`no token file "${name}"; try reports or billing`, HttpStatus.NOT_FOUND);
    return this.call(SOURCES.file(name), async () => (await client.get(`/${name}`)).data);
  }

  @Get('gateway/orders')
  orders() {
    return this.call(SOURCES.gateway, async () => (await this.gateway.get('/orders')).data);
  }

  @Get('gateway/inventory')
  stock() {
    return this.call(SOURCES.gateway, () => this.inventory.stock());
  }

  /** Calls are counted per source, so the dashboard can set them beside each source's token fetches. */
  private async call<T>(scenario: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.monitor.track(scenario, fn);
    } catch (error) {
      if (error instanceof HttpException) throw error;
      const e = error as Error & { response?: { status?: number } };
      // The upstream's status and the error's name; messages of this library never carry a token.
      throw new HttpException(
        { error: 'upstream_failed', scenario, upstreamStatus: e.response?.status, name: e.name, message: e.message },
        HttpStatus.BAD_GATEWAY,
      );
    }
  }
}
