// Compiled as CommonJS (tsc turns these imports into require()): every entry point loads, one copy of the code.
import 'reflect-metadata';
import { TokenCacheModule, TokenCacheService, staticToken as rootStaticToken } from 'nestjs-token-cache';
import { TokenCache, staticToken, type TokenSource } from 'nestjs-token-cache/core';
import { TokenCacheHealthIndicator } from 'nestjs-token-cache/health';
import { RedisTokenStore } from 'nestjs-token-cache/redis';
import { FakeClock, TestTokenSource, staticToken as testingStaticToken } from 'nestjs-token-cache/testing';
import { NestFactory } from '@nestjs/core';
import { Module } from '@nestjs/common';

@Module({ imports: [TokenCacheModule.forRoot({ sources: { api: staticToken('cjs-token', { expiresIn: 60 }) } })] })
class AppModule {}

async function main(): Promise<void> {
  if (typeof module === 'undefined' || typeof require !== 'function') throw new Error('not running as CommonJS');
  const source: TokenSource = new TestTokenSource();
  void source;
  if (rootStaticToken !== staticToken || testingStaticToken !== staticToken) throw new Error('two copies of staticToken');
  if (typeof TokenCacheHealthIndicator !== 'function' || typeof RedisTokenStore !== 'function') throw new Error('entry points missing');
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  const service = app.get(TokenCacheService);
  if (!(service instanceof TokenCache)) throw new Error('TokenCacheService is not an instanceof TokenCache from /core');
  if ((await service.getToken('api')) !== 'cjs-token') throw new Error('wrong token');
  const clock = new FakeClock();
  clock.advance(1);
  await app.close();
  console.log(`CJS OK ${process.argv[2] ?? ''}`);
}
void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
