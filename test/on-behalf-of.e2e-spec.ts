/**
 * On-behalf-of in a real Nest app: `forFeature({ subjectToken: 'incoming' })` exchanges the bearer token of
 * the HTTP request being handled (RFC 8693) for a downstream one, in handlers and in guards; without an
 * incoming bearer token nothing is sent.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CanActivate, Controller, Get, Injectable, Module, UseGuards, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AxiosInstance } from 'axios';
import { getTokenClientToken, InjectTokenClient, TokenCacheConfigError, TokenCacheModule, TokenCacheService, tokenExchange } from 'nestjs-token-cache';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLIENT_SECRET, startGrantsIdp, type GrantsIdp } from './support/grants-idp.js';

let idp: GrantsIdp;
let downstream: Server & { seen: string[]; url: string };
let app: INestApplication;
let base: string;

async function startDownstream() {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers.authorization ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true }));
  }) as Server & { seen: string[]; url: string };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.seen = seen;
  server.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return server;
}

beforeEach(async () => {
  idp = await startGrantsIdp();
  downstream = await startDownstream();

  @Injectable()
  class Orders {
    constructor(@InjectTokenClient('orders') readonly http: AxiosInstance) {}
    async call(): Promise<{ downstreamSub?: string; error?: { name: string; option?: string } }> {
      try {
        await this.http.get('/orders');
        const sent = downstream.seen.at(-1)!.replace(/^Bearer /, '');
        return { downstreamSub: (await idp.verify(sent)).sub };
      } catch (error) {
        const e = error as TokenCacheConfigError;
        return { error: { name: e.name, option: e.option } };
      }
    }
  }

  @Injectable()
  class CallsDownstreamGuard implements CanActivate {
    constructor(private readonly orders: Orders) {}
    async canActivate(): Promise<boolean> {
      const result = await this.orders.call();
      return result.downstreamSub !== undefined;
    }
  }

  @Controller()
  class OrdersController {
    constructor(private readonly orders: Orders) {}
    @Get('mine')
    mine() {
      return this.orders.call();
    }
    @Get('guarded')
    @UseGuards(CallsDownstreamGuard)
    guarded() {
      return { passed: true };
    }
  }

  @Module({
    imports: [
      TokenCacheModule.forRoot({
        sources: { obo: tokenExchange({ issuer: idp.issuer, clientId: 'obo-client', clientSecret: CLIENT_SECRET, audience: 'orders-api' }) },
      }),
      TokenCacheModule.forFeature({ name: 'orders', source: 'obo', subjectToken: 'incoming', baseURL: downstream.url }),
    ],
    controllers: [OrdersController],
    providers: [Orders, CallsDownstreamGuard],
  })
  class AppModule {}

  app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  base = await app.getUrl();
});

afterEach(async () => {
  await app.close();
  await new Promise((resolve) => downstream.close(resolve));
  await idp.close();
});

const get = async (path: string, authorization?: string) => {
  const res = await fetch(`${base}${path}`, { headers: authorization === undefined ? {} : { authorization } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const exchanges = () => idp.requests.filter((r) => r.grantType === 'urn:ietf:params:oauth:grant-type:token-exchange');

describe("forFeature({ subjectToken: 'incoming' })", () => {
  it("each caller's own token is exchanged: the downstream API sees that caller; one exchange per caller token", async () => {
    const [alice, bob] = await Promise.all([idp.userToken('alice'), idp.userToken('bob')]);
    const results = await Promise.all([
      get('/mine', `Bearer ${alice}`),
      get('/mine', `bearer ${bob}`),
      get('/mine', `Bearer ${alice}`),
      get('/mine', `Bearer ${bob}`),
    ]);
    expect(results.map((r) => r.body.downstreamSub)).toEqual(['alice', 'bob', 'alice', 'bob']);
    expect(exchanges().map((r) => r.form.subject_token).sort()).toEqual([alice, bob].sort());
    expect(exchanges().every((r) => r.form.audience === 'orders-api')).toBe(true);
    // The downstream never sees the caller's own token.
    expect(downstream.seen.some((h) => h.includes(alice) || h.includes(bob))).toBe(false);
  });

  it('works inside a guard (the middleware runs before guards)', async () => {
    const alice = await idp.userToken('alice');
    expect(await get('/guarded', `Bearer ${alice}`)).toMatchObject({ status: 200, body: { passed: true } });
    expect(exchanges()).toHaveLength(1);
  });

  it('no incoming bearer token (none, another scheme, malformed): TokenCacheConfigError naming subjectToken, nothing sent', async () => {
    for (const authorization of [undefined, 'Basic dXNlcjpwdw==', 'Bearer', 'Bearer two words']) {
      const { body } = await get('/mine', authorization);
      expect(body).toEqual({ error: { name: 'TokenCacheConfigError', option: 'subjectToken' } });
    }
    expect(idp.requests).toHaveLength(0);
    expect(downstream.seen).toHaveLength(0);
  });

  it('outside any HTTP request (a scheduled job) the client rejects and sends nothing', async () => {
    const client = app.get<AxiosInstance>(getTokenClientToken('orders'), { strict: false });
    const error = await client.get('/orders').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenCacheConfigError);
    expect(downstream.seen).toHaveLength(0);
    expect(app.get(TokenCacheService).entries()).toEqual([]);
  });

  it("a bad subjectToken option fails when the module is defined", () => {
    expect(() => TokenCacheModule.forFeature({ name: 'x', source: 'obo', subjectToken: 'outgoing' as never })).toThrow(
      expect.objectContaining({ name: 'TokenCacheConfigError', option: 'subjectToken' }),
    );
  });
});
