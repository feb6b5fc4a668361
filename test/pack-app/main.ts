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
import { MemoryTokenStore, TokenCache, TokenCacheConfigError, attachTokenCache } from 'nestjs-token-cache/core';
import type { AxiosInstance } from 'axios';

let calls = 0;
const api = tokenFunction(async () => ({ accessToken: `pack-token-${++calls}`, expiresIn: 3600 }));

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
    TokenCacheModule.forRoot({ sources: { api }, store: new MemoryTokenStore({ maxEntries: 10 }) }),
    TokenCacheModule.forFeature({ name: 'api', source: 'api', baseURL: 'http://127.0.0.1:9' }),
  ],
  providers: [Consumer],
})
class AppModule {}

const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
const { cache, http } = app.get(Consumer);
const tokens = await Promise.all([cache.getToken('api'), cache.getToken('api'), cache.getToken('api')]);
const stats: TokenCacheStats = cache.stats();
if (new Set(tokens).size !== 1 || calls !== 1 || stats.misses !== 3) throw new Error(`single flight broken: ${JSON.stringify(stats)}`);
if (!app.get(SchedulerRegistry).doesExist('interval', 'token-cache:cleanup')) throw new Error('cleanup interval not registered');
if (typeof http.get !== 'function') throw new Error('forFeature client missing');
// The axios augmentation ships with the package: these options type-check.
const config: import('axios').AxiosRequestConfig = { skipTokenCache: true, tokenCache: { subject: 'x', scopes: ['a'] } };
void config;
const core = new TokenCache({ sources: { api } });
const eject = attachTokenCache(axios.create(), core, { source: 'api' });
eject();
try {
  new TokenCache({ sources: { api }, maxEntries: 0 });
  throw new Error('expected a config error');
} catch (e) {
  if (!(e instanceof TokenCacheConfigError)) throw e;
}
await core.close();
await app.close();
console.log('PACK-SMOKE OK');
