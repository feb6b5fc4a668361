import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { describe, expect, it } from 'vitest';
import { TokenCacheModule, TokenCacheService, tokenFunction } from 'nestjs-token-cache';

@Injectable()
class Consumer {
  constructor(readonly cache: TokenCacheService) {}
}

describe('nest smoke', () => {
  it('boots', async () => {
    @Module({ imports: [ScheduleModule.forRoot(), TokenCacheModule.forRoot({ sources: { a: tokenFunction(() => 'x') } })], providers: [Consumer] })
    class AppModule {}
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    expect(await app.get(Consumer).cache.getToken('a')).toBe('x');
    expect(app.get(SchedulerRegistry).doesExist('interval', 'token-cache:cleanup')).toBe(true);
    await app.close();
  });
});
