// The Vitest example of the package README ("Testing your app"): the app's real module, no identity provider.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { App } from 'supertest/types.js';
import { TOKEN_CACHE_MODULE_OPTIONS, TokenCacheService } from 'nestjs-token-cache';
import { FakeClock, TestTokenSource, staticToken } from 'nestjs-token-cache/testing';
import { AppModule } from './../src/app.module.js';

describe('AppController (e2e)', () => {
  let app: INestApplication<App>;
  let api: Server;
  const seen: string[] = [];

  // A stand-in for the reports API on loopback: records the Authorization header it gets.
  beforeAll(async () => {
    api = createServer((req, res) => {
      seen.push(req.headers.authorization ?? '');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ report: 'latest' }));
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    process.env.REPORTS_API_URL = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => api.close(() => resolve())));

  async function start(options: object) {
    const moduleFixture = await Test.createTestingModule({ imports: [AppModule] })
      .overrideProvider(TOKEN_CACHE_MODULE_OPTIONS)
      .useValue(options)
      .compile();
    app = moduleFixture.createNestApplication();
    await app.init();
  }
  afterEach(async () => {
    await app.close();
    seen.length = 0;
  });

  it('/ (GET)', async () => {
    await start({ sources: { reports: staticToken('test-token') } });
    await request(app.getHttpServer()).get('/').expect(200).expect('Hello World!');
  });

  it('calls the reports API with the token of the source (staticToken)', async () => {
    await start({ sources: { reports: staticToken('test-token') } });
    await request(app.getHttpServer()).get('/report').expect(200).expect({ report: 'latest' });
    expect(seen).toEqual(['Bearer test-token']);
  });

  it('fetches a new token once the old one expired (FakeClock, TestTokenSource)', async () => {
    const clock = new FakeClock();
    const reports = new TestTokenSource({ expiresIn: 3600 });
    await start({ sources: { reports }, clock });
    await request(app.getHttpServer()).get('/report').expect(200);
    await request(app.getHttpServer()).get('/report').expect(200);
    clock.advance(3_600_000);
    await request(app.getHttpServer()).get('/report').expect(200);
    expect(seen).toEqual(['Bearer test-token-1', 'Bearer test-token-1', 'Bearer test-token-2']);
    expect(reports.count).toBe(2);
    expect(app.get(TokenCacheService).stats()).toMatchObject({ hits: 1, misses: 2 });
  });

  it('answers 500 without calling the API when no token can be had', async () => {
    const reports = new TestTokenSource().failWith();
    await start({ sources: { reports } });
    await request(app.getHttpServer()).get('/report').expect(500);
    expect(seen).toEqual([]);
  });
});
