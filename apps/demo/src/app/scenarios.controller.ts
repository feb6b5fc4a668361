/** One route per scenario: each calls the protected API through the token cache and answers what it got. */
import { Controller, Get, Headers, HttpException, HttpStatus, Param, Req, Res } from '@nestjs/common';
import type { AxiosInstance } from 'axios';
import { InjectTokenClient, TokenCacheConfigError } from 'nestjs-token-cache';
import { TOKEN_FILES } from '../demo.config.js';
import { DemoMonitor } from './demo-monitor.service.js';
import { SOURCES } from './demo-sources.js';
import { DemoUsers } from './demo-users.service.js';
import { OBO_CLIENT } from './feature-clients.js';
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
    @InjectTokenClient(OBO_CLIENT) private readonly onBehalfOf: AxiosInstance,
    private readonly users: DemoUsers,
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
        ...this.users.names.map((user) => ({ scenario: 'on-behalf-of', path: `/on-behalf-of/${user}`, detail: `${user} signs in; token exchanged (RFC 8693)` })),
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

  /**
   * On-behalf-of (RFC 8693): the caller's orders, fetched from the orders API with a token exchanged for the
   * caller's own (`Authorization: Bearer <user token>`, read by `forFeature({ subjectToken: 'incoming' })`).
   * One exchanged token per user token. No bearer token: 401 `no_bearer_token`, and nothing is sent anywhere.
   */
  @Get('me/orders')
  myOrders(@Headers('authorization') authorization: string | undefined, @Res({ passthrough: true }) res: { setHeader(name: string, value: string): void }) {
    // The user's name labels the cache entry (the dashboard shows whose token it is); the key holds a
    // SHA-256 of the user's token either way, and the IdP checks the token itself when exchanging it.
    const user = subjectOf(authorization);
    return this.call(SOURCES.obo, async () => (await this.onBehalfOf.get('/orders/mine', user === undefined ? {} : { tokenCache: { subject: user } })).data).catch(
      (error: unknown) => {
        if (error instanceof HttpException && error.getStatus() === HttpStatus.UNAUTHORIZED) res.setHeader('www-authenticate', 'Bearer');
        throw error;
      },
    );
  }

  /**
   * The dashboard's on-behalf-of buttons: `user` signs in at the IdP (their session is kept, as a browser's
   * would be) and calls `GET /me/orders` of this app with their token, as their browser would. Answers what
   * came back, never a token.
   */
  @Get('on-behalf-of/:user')
  async asUser(@Param('user') user: string, @Req() req: { protocol: string; get(name: string): string | undefined }) {
    const token = this.users.token(user);
    if (token === undefined) throw new HttpException(`no demo user "${user}"; try ${this.users.names.join(' or ')}`, HttpStatus.NOT_FOUND);
    let res: Response;
    try {
      res = await fetch(`${req.protocol}://${req.get('host')}/me/orders`, { headers: { authorization: `Bearer ${await token}` }, signal: AbortSignal.timeout(15_000) });
    } catch (error) {
      throw new HttpException({ error: 'sign_in_failed', user, message: (error as Error).message }, HttpStatus.BAD_GATEWAY);
    }
    const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) throw new HttpException(body, res.status);
    return { user, via: 'GET /me/orders', ...body };
  }

  /** Calls are counted per source, so the dashboard can set them beside each source's token fetches. */
  private async call<T>(scenario: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.monitor.track(scenario, fn);
    } catch (error) {
      if (error instanceof HttpException) throw error;
      if (error instanceof TokenCacheConfigError && error.option === 'subjectToken') {
        // On-behalf-of without a caller token: the cache refused before sending anything.
        throw new HttpException({ error: 'no_bearer_token', scenario, message: 'send Authorization: Bearer <your token> (a user token of the demo IdP)' }, HttpStatus.UNAUTHORIZED);
      }
      const e = error as Error & { response?: { status?: number } };
      // The upstream's status and the error's name; messages of this library never carry a token.
      throw new HttpException(
        { error: 'upstream_failed', scenario, upstreamStatus: e.response?.status, name: e.name, message: e.message },
        HttpStatus.BAD_GATEWAY,
      );
    }
  }
}

/** The `sub` of a bearer JWT, read without checking it (only to label the cache entry); undefined when there is none. */
function subjectOf(authorization: string | undefined): string | undefined {
  const jwt = /^Bearer +([\w-]+)\.([\w-]+)\.[\w-]+$/i.exec(authorization ?? '');
  if (!jwt) return undefined;
  try {
    const sub: unknown = JSON.parse(Buffer.from(jwt[2]!, 'base64url').toString('utf8')).sub;
    return typeof sub === 'string' && /^[\w.@-]{1,64}$/.test(sub) ? sub : undefined;
  } catch {
    return undefined;
  }
}
