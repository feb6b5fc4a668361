/** `/health`: terminus with the token cache's indicator. */
import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { TokenCacheHealthIndicator } from 'nestjs-token-cache/health';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly tokenCache: TokenCacheHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.tokenCache.isHealthy('token-cache')]);
  }
}
