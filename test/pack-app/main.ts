// A fresh Nest 12 app that installs the packed tarball: imports by package name only, no deep imports.
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import axios from 'axios';
import {
  InjectTokenClient,
  TokenCacheModule,
  TokenCacheService,
  tokenFunction,
  type TokenCacheStats,
} from 'nestjs-token-cache';
import { MemoryTokenStore, TokenCache, TokenCacheConfigError, attachTokenCache, clientCredentials } from 'nestjs-token-cache/core';
import { TokenCacheHealthIndicator } from 'nestjs-token-cache/health';
import { TerminusModule } from '@nestjs/terminus';
import { OAuth2Server } from 'oauth2-mock-server';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AxiosInstance } from 'axios';

// A real IdP on loopback, and an API that rejects the first token it sees with 401 invalid_token.
const idp = new OAuth2Server();
await idp.issuer.keys.generate('RS256');
await idp.start(0, '127.0.0.1');
let idpTokens = 0;
idp.service.on('beforeResponse', () => void idpTokens++);
const seen: string[] = [];
const api = createServer((req, res) => {
  const auth = req.headers.authorization ?? '';
  seen.push(auth);
  if (seen.length === 1) {
    res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true }));
});
await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;

let calls = 0;
const fn = tokenFunction(async () => ({ accessToken: `pack-token-${++calls}`, expiresIn: 3600 }));

@Injectable()
class Consumer {
  constructor(
    readonly cache: TokenCacheService,
    @InjectTokenClient('api') readonly http: AxiosInstance,
  ) {}
}

@Module({
  imports: [
    ScheduleModule.forRoot(),
    TerminusModule,
    TokenCacheModule.forRoot({
      sources: {
        api: fn,
        idp: clientCredentials({ tokenUrl: `${idp.issuer.url}/token`, clientId: 'pack-app', clientSecret: 's3cr:et%+', scope: ['read'] }),
      },
      store: new MemoryTokenStore({ maxEntries: 10 }),
    }),
    TokenCacheModule.forFeature({ name: 'api', source: 'idp', baseURL: apiUrl }),
  ],
  providers: [Consumer, TokenCacheHealthIndicator],
})
class AppModule {}

const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
const { cache, http } = app.get(Consumer);
const tokens = await Promise.all([cache.getToken('api'), cache.getToken('api'), cache.getToken('api')]);
const stats: TokenCacheStats = cache.stats();
if (new Set(tokens).size !== 1 || calls !== 1 || stats.misses !== 3) throw new Error(`single flight broken: ${JSON.stringify(stats)}`);
if (!app.get(SchedulerRegistry).doesExist('interval', 'token-cache:cleanup')) throw new Error('cleanup interval not registered');
// 401 -> the sent token is invalidated, one fresh fetch, one retry that succeeds.
const reply = await http.get('/data');
if (reply.status !== 200 || seen.length !== 2 || !seen[1]!.startsWith('Bearer ') || idpTokens !== 2) {
  throw new Error(`401 retry broken: status ${reply.status}, requests ${seen.length}, idp tokens ${idpTokens}`);
}
const health = await app.get(TokenCacheHealthIndicator).isHealthy('token-cache');
if (health['token-cache'].status !== 'up') throw new Error(`health: ${JSON.stringify(health)}`);
// The axios augmentation ships with the package: these options type-check.
const config: import('axios').AxiosRequestConfig = { skipTokenCache: true, tokenCache: { subject: 'x', scopes: ['a'] } };
void config;
const core = new TokenCache({ sources: { api: fn } });
const eject = attachTokenCache(axios.create(), core, { source: 'api' });
eject();
try {
  new TokenCache({ sources: { api: fn }, maxEntries: 0 });
  throw new Error('expected a config error');
} catch (e) {
  if (!(e instanceof TokenCacheConfigError)) throw e;
}
await core.close();
// DPoP (RFC 9449) on a token request, from the installed dependency tree: the proof's handle and the request
// must come from one oauth4webapi (two copies made every DPoP request fail before it was sent).
const dpopIdp = createServer((req, res) => {
  const proof = String(req.headers.dpop ?? '');
  const header = JSON.parse(Buffer.from(proof.split('.')[0] ?? '', 'base64url').toString() || '{}') as { typ?: string; jwk?: object };
  if (header.typ !== 'dpop+jwt' || header.jwk === undefined) {
    res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_dpop_proof' }));
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'dpop-bound', token_type: 'DPoP', expires_in: 3600 }));
});
await new Promise<void>((resolve) => dpopIdp.listen(0, '127.0.0.1', resolve));
const dpopCache = new TokenCache({
  sources: { d: clientCredentials({ tokenUrl: `http://127.0.0.1:${(dpopIdp.address() as AddressInfo).port}/token`, clientId: 'c', clientSecret: 's', dpop: true }) },
});
if ((await dpopCache.getToken('d')) !== 'dpop-bound') throw new Error('DPoP token request failed');
await dpopCache.close();
dpopIdp.close();
await app.close();
await idp.stop();
api.close();
console.log('PACK-SMOKE OK');
