import { Injectable } from '@nestjs/common';
import type { AxiosInstance } from 'axios';
import { InjectTokenClient, TokenCacheService } from 'nestjs-token-cache';
import { TokenCache } from 'nestjs-token-cache/core';
import { TokenCacheHealthIndicator } from 'nestjs-token-cache/health';
import { RedisTokenStore } from 'nestjs-token-cache/redis';
import { staticToken as testingStaticToken } from 'nestjs-token-cache/testing';
import { staticToken } from 'nestjs-token-cache';

@Injectable()
export class AppService {
  constructor(
    @InjectTokenClient('reports-api') private readonly reportsApi: AxiosInstance,
    private readonly cache: TokenCacheService,
    private readonly health: TokenCacheHealthIndicator,
  ) {}

  getHello(): string {
    return 'Hello World!';
  }

  /** Calls the reports API; the client adds the cached token (and refetches once on a 401). */
  async getReport(): Promise<unknown> {
    const { data } = await this.reportsApi.get(`${process.env.REPORTS_API_URL}/reports/latest`);
    return data;
  }

  /** Every entry point loaded, one copy of the code. */
  async packageCheck() {
    return {
      tokenCacheServiceIsTokenCache: this.cache instanceof TokenCache,
      oneStaticToken: testingStaticToken === staticToken,
      redisStore: typeof RedisTokenStore === 'function',
      health: (await this.health.isHealthy())['token-cache'].status,
      moduleSystem: typeof require === 'function' && typeof module !== 'undefined' ? 'commonjs' : 'esm',
    };
  }
}
