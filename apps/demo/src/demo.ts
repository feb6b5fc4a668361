/**
 * `createDemo()`: starts the whole demo (IdP, resource API, token-file sidecar, the Nest app) and returns
 * its URLs and a `close()`. Used by main.ts, the load script and the end-to-end tests.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { TokenStore } from 'nestjs-token-cache';
import type { DemoContext } from './app/demo-context.js';
import { DemoModule } from './app/demo.module.js';
import { DEMO_API_USERS, DEMO_CLIENTS, DEMO_USERS, resolveDemoOptions, type DemoOptions, type ResolvedDemoOptions } from './demo.config.js';
import { DemoIdp } from './world/demo-idp.js';
import { ResourceApi } from './world/resource-api.js';
import { TokenFileWriter } from './world/token-file-writer.js';

export interface Demo {
  app: INestApplication;
  /** The demo app (dashboard at `/`). */
  url: string;
  idpUrl: string;
  apiUrl: string;
  tokenDir: string;
  adminKey: string;
  options: ResolvedDemoOptions;
  /** Present when this instance started them (not when reusing another instance's via DEMO_IDP_URL/DEMO_API_URL). */
  idp?: DemoIdp;
  api?: ResourceApi;
  writer: TokenFileWriter;
  /** Stops the app, then the API and IdP it started, and removes its temporary token directory. */
  close(): Promise<void>;
}

export async function createDemo(input: DemoOptions = {}): Promise<Demo> {
  const options = resolveDemoOptions(input);
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  };
  try {
    let idp: DemoIdp | undefined;
    let api: ResourceApi | undefined;
    if (options.idpUrl === undefined) {
      idp = await DemoIdp.start({
        port: options.idpPort,
        host: options.host,
        ttlSeconds: options.ttlSeconds,
        clients: Object.fromEntries(
          Object.values(DEMO_CLIENTS).map((c) => [c.clientId, { secret: c.clientSecret, ...('audience' in c && { audience: c.audience }) }]),
        ),
        apiUsers: DEMO_API_USERS,
        users: DEMO_USERS,
        userTokenAudience: DEMO_CLIENTS.app.clientId,
      });
      cleanups.push(() => idp!.close());
      api = await ResourceApi.start({ port: options.apiPort, host: options.host, idp });
      cleanups.push(() => api!.close());
    }
    const idpUrl = options.idpUrl ?? idp!.url;
    const apiUrl = options.apiUrl ?? api!.url;
    // Token lifetimes are the IdP's business: a reused one tells its own.
    if (idp === undefined) {
      Object.assign(options, resolveDemoOptions({ ...input, ttlSeconds: await remoteTtl(idpUrl), adminKey: options.adminKey }));
    }

    const tokenDir = options.tokenDir ?? (await mkdtemp(join(tmpdir(), 'token-cache-demo-')));
    if (options.tokenDir === undefined) cleanups.push(() => rm(tokenDir, { recursive: true, force: true }));
    const writer = new TokenFileWriter(tokenDir, `${idpUrl}/token`);
    // After the app closed (no more scheduled rotations), a rotation still in flight finishes before the directory goes.
    cleanups.push(() => writer.settled());
    // The files exist before the fileToken sources start watching them.
    await writer.rotate();

    const ctx: DemoContext = {
      options,
      idpUrl,
      tokenUrl: `${idpUrl}/token`,
      apiUrl,
      writer,
      musicRefreshToken: await seedMusicRefreshToken(idpUrl),
      counters: { musicRefreshTokenRotations: 0, revocations: 0 },
    };
    const store = await createStore(options);
    // Closed by app.close() through the cache; this covers a bootstrap that fails before the app exists
    // (closing twice is a no-op), so its connections never keep the process alive.
    if (store !== undefined) cleanups.push(() => store.close?.() ?? Promise.resolve());
    const app = await NestFactory.create(DemoModule.register(ctx, store), {
      // A bootstrap error is thrown to the caller (and close() runs), not a process.exit().
      abortOnError: false,
      // Browsers hold keep-alive connections (the dashboard's among them): Ctrl+C should not wait for them to idle out.
      forceCloseConnections: true,
      // Warnings and errors only: the start banner lists what matters.
      logger: options.logger ? ['warn', 'error'] : false,
    });
    cleanups.push(() => app.close());
    await app.listen(options.port, options.host);
    const { port } = app.getHttpServer().address() as AddressInfo;
    if (options.backgroundCallMs > 0) cleanups.push(startBackgroundCalls(`http://${options.host}:${port}`, options.backgroundCallMs));
    return {
      app,
      url: `http://${options.host}:${port}`,
      idpUrl,
      apiUrl,
      tokenDir,
      adminKey: options.adminKey,
      options,
      idp,
      api,
      writer,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The routes the background caller uses: one per kind of source that the dashboard shows. */
export const BACKGROUND_ROUTES = ['/gateway/inventory', '/music/now-playing', '/files/reports', '/trading/alice-scalper/accounts', '/on-behalf-of/alice'];

/**
 * Calls the demo's own routes every `everyMs`, one call at a time, like light steady traffic: the tokens
 * behind them stay in use, so they refresh ahead of expiry instead of expiring. Returns the stop function.
 */
function startBackgroundCalls(url: string, everyMs: number): () => Promise<void> {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = (async () => {
      for (const route of BACKGROUND_ROUTES) {
        await fetch(`${url}${route}`, { signal: AbortSignal.timeout(everyMs * 2) }).then((res) => res.arrayBuffer(), () => undefined);
      }
    })();
  }, everyMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running.catch(() => undefined);
  };
}

async function remoteTtl(idpUrl: string): Promise<number> {
  const res = await fetch(`${idpUrl}/demo/info`, { signal: AbortSignal.timeout(5_000) }).catch((error: Error) => {
    throw new Error(`no demo IdP answers at DEMO_IDP_URL=${idpUrl} (${error.message}); start the first instance before the second`);
  });
  if (!res.ok) throw new Error(`the IdP at ${idpUrl} is not a token-cache demo IdP (GET /demo/info answered ${res.status})`);
  return ((await res.json()) as { ttlSeconds: number }).ttlSeconds;
}

/** The music app's first refresh token, as its one-time authorization-code login would leave it. */
async function seedMusicRefreshToken(idpUrl: string): Promise<string> {
  const res = await fetch(`${idpUrl}/demo/refresh-tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: DEMO_CLIENTS.music.clientId, client_secret: DEMO_CLIENTS.music.clientSecret, subject: DEMO_CLIENTS.music.subject }),
    signal: AbortSignal.timeout(5_000),
  });
  if (!res.ok) throw new Error(`the IdP at ${idpUrl} refused to seed a refresh token (${res.status}); is it a token-cache demo IdP?`);
  return ((await res.json()) as { refresh_token: string }).refresh_token;
}

async function createStore(options: ResolvedDemoOptions): Promise<TokenStore | undefined> {
  if (options.redisUrl === undefined) return undefined;
  // Loaded only in Redis mode, so the demo runs without ioredis when it is not wanted.
  const { RedisTokenStore } = await import('nestjs-token-cache/redis');
  return new RedisTokenStore({ url: options.redisUrl, keyPrefix: options.redisKeyPrefix });
}
