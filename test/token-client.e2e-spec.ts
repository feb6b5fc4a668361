/**
 * The Nest side of the interceptor: `TokenCacheModule.forFeature` clients, `@InjectTokenClient`, and
 * `TokenCacheService.attach` on a plain instance and on @nestjs/axios' HttpService, in a real Nest app,
 * against the loopback mock IdP and a real resource server.
 */
import { HttpModule, HttpService } from '@nestjs/axios';
import { Injectable, Module, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import axios, { type AxiosError, type AxiosInstance } from 'axios';
import { firstValueFrom } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  getTokenClientToken,
  InjectTokenClient,
  TokenCacheConfigError,
  TokenCacheModule,
  TokenCacheService,
  UnknownTokenSourceError,
} from 'nestjs-token-cache';
import { distinctTokensWithAudience, idpClientCredentials } from './support/idp-token-function.js';
import { startMockIdp, type MockIdp } from './support/mock-idp.js';
import { startResourceServer, type ResourceServer } from './support/resource-server.js';

let idp: MockIdp;
let api: ResourceServer;

beforeEach(async () => {
  idp = await startMockIdp();
  distinctTokensWithAudience(idp);
  api = await startResourceServer(idp);
});

afterEach(async () => {
  await api.close();
  await idp.close();
});

const interceptorCount = (instance: AxiosInstance) => ({
  request: ((instance.interceptors.request as unknown as { handlers: unknown[] }).handlers ?? []).filter(Boolean).length,
  response: ((instance.interceptors.response as unknown as { handlers: unknown[] }).handlers ?? []).filter(Boolean).length,
});

describe('TokenCacheModule.forFeature + @InjectTokenClient', () => {
  it('forFeature clients, an attached plain instance and HttpService.axiosRef share one token (one fetch)', async () => {
    @Injectable()
    class Clients implements OnModuleInit, OnModuleDestroy {
      readonly plain = axios.create({ baseURL: api.url });
      private readonly ejects: (() => void)[] = [];
      constructor(
        @InjectTokenClient('orders') readonly orders: AxiosInstance,
        @InjectTokenClient('billing') readonly billing: AxiosInstance,
        readonly http: HttpService,
        readonly cache: TokenCacheService,
      ) {}
      onModuleInit() {
        this.ejects.push(this.cache.attach(this.http, { source: 'api' }), this.cache.attach(this.plain, { source: 'api' }));
      }
      onModuleDestroy() {
        for (const eject of this.ejects) eject();
      }
    }
    @Module({
      imports: [
        TokenCacheModule.forRoot({ sources: { api: idpClientCredentials(idp) } }),
        TokenCacheModule.forFeature({ name: 'orders', source: 'api', baseURL: api.url, headers: { 'X-Client': 'orders' } }),
        TokenCacheModule.forFeature({ name: 'billing', source: 'api', baseURL: api.url, timeout: 5_000 }),
        HttpModule.register({ baseURL: api.url }),
      ],
      providers: [Clients],
    })
    class AppModule {}
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    const clients = app.get(Clients);
    expect(clients.orders).not.toBe(clients.billing);
    expect(app.get(getTokenClientToken('orders'))).toBe(clients.orders);

    const replies = await Promise.all([
      clients.orders.get('/orders'),
      clients.billing.get('/invoices'),
      clients.plain.get('/plain'),
      firstValueFrom(clients.http.get('/via-http-service')),
      clients.http.axiosRef.get('/via-axios-ref'),
    ]);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(idp.tokenRequests).toBe(1);
    expect(new Set(api.requests.map((r) => r.token)).size).toBe(1);
    expect(api.requests.find((r) => r.url === '/orders')!.headers['x-client']).toBe('orders');

    // The 401 retry works through a forFeature client and through HttpService alike.
    api.revokeAllSeen();
    expect((await clients.orders.get('/orders-again')).status).toBe(200);
    expect((await firstValueFrom(clients.http.get('/http-again'))).status).toBe(200);
    expect(idp.tokenRequests).toBe(2);

    // Never the process-wide default instance.
    expect(interceptorCount(axios)).toEqual({ request: 0, response: 0 });
    await app.close();
  });

  it('installs the interceptors once however many modules import the client, and ejects them on module destroy', async () => {
    const clientOptions = () => ({ name: 'orders', source: 'api', baseURL: api.url });
    @Injectable()
    class UsesA {
      constructor(@InjectTokenClient('orders') readonly client: AxiosInstance) {}
    }
    @Injectable()
    class UsesB {
      constructor(@InjectTokenClient('orders') readonly client: AxiosInstance) {}
    }
    @Module({ imports: [TokenCacheModule.forFeature(clientOptions())], providers: [UsesA] })
    class FeatureA {}
    @Module({ imports: [TokenCacheModule.forFeature(clientOptions())], providers: [UsesB] })
    class FeatureB {}
    @Module({ imports: [TokenCacheModule.forRoot({ sources: { api: idpClientCredentials(idp) } }), FeatureA, FeatureB] })
    class AppModule {}
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    const client = app.get(UsesA, { strict: false }).client;
    expect(app.get(UsesB, { strict: false }).client).toBe(client);
    expect(interceptorCount(client)).toEqual({ request: 1, response: 0 });
    expect((await client.get('/once')).status).toBe(200);

    await app.close();
    expect(interceptorCount(client)).toEqual({ request: 0, response: 0 });
    const error = await client.get('/after-close').catch((e: unknown) => e);
    expect((error as AxiosError).response?.status).toBe(401);
    const after = api.requests.filter((r) => r.url === '/after-close');
    expect(after).toHaveLength(1);
    expect(after[0]!.headers.authorization).toBeUndefined();
  });

  it('finds the TokenCacheService of a forRoot with isGlobal: false anywhere in the app', async () => {
    @Injectable()
    class Uses {
      constructor(@InjectTokenClient('local') readonly client: AxiosInstance) {}
    }
    @Module({
      imports: [
        TokenCacheModule.forRoot({ isGlobal: false, sources: { api: idpClientCredentials(idp) } }),
        TokenCacheModule.forFeature({ name: 'local', source: 'api', baseURL: api.url, tokenCache: { subject: 'svc-local' } }),
      ],
      providers: [Uses],
    })
    class AppModule {}
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    const res = await app.get(Uses).client.get('/me', { tokenCache: { subject: 'alice' } });
    expect(res.status).toBe(200);
    expect(app.get(TokenCacheService, { strict: false }).entries().map((e) => e.key)).toEqual(['api|sub=alice']);
    await app.close();
  });

  it('fails at bootstrap with a TokenCacheConfigError when no forRoot is in the app, and with UnknownTokenSourceError for an unknown source', async () => {
    @Module({ imports: [TokenCacheModule.forFeature({ name: 'lonely', source: 'api', baseURL: api.url })] })
    class NoRoot {}
    await expect(NestFactory.createApplicationContext(NoRoot, { logger: false, abortOnError: false })).rejects.toMatchObject({
      name: 'TokenCacheConfigError',
      option: 'forFeature',
    });

    @Module({
      imports: [
        TokenCacheModule.forRoot({ sources: { api: idpClientCredentials(idp) } }),
        TokenCacheModule.forFeature({ name: 'typo', source: 'apii', baseURL: api.url }),
      ],
    })
    class Typo {}
    await expect(NestFactory.createApplicationContext(Typo, { logger: false, abortOnError: false })).rejects.toBeInstanceOf(UnknownTokenSourceError);
    expect(idp.tokenRequests).toBe(0);
  });

  it('rejects bad forFeature options at once, naming the option', () => {
    expect(() => TokenCacheModule.forFeature({ name: '', source: 'api' })).toThrow(expect.objectContaining({ option: 'name' }));
    expect(() => TokenCacheModule.forFeature({ name: 'x', source: undefined as never })).toThrow(TokenCacheConfigError);
    expect(() => TokenCacheModule.forFeature(undefined as never)).toThrow(TokenCacheConfigError);
  });
});
