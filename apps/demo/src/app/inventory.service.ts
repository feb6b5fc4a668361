/**
 * The gateway's inventory, called through `@nestjs/axios`' HttpService: `cache.attach()` accepts it as it
 * is (its `axiosRef`). `HttpModule.register()` gives this module its own axios instance; the bare
 * `HttpModule` would hand out the process-wide default one, which must never carry the interceptor.
 */
import { HttpService } from '@nestjs/axios';
import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { TokenCacheService } from 'nestjs-token-cache';
import { firstValueFrom } from 'rxjs';
import { SOURCES } from './demo-sources.js';

@Injectable()
export class InventoryService implements OnModuleInit, OnModuleDestroy {
  private detach?: () => void;

  constructor(
    private readonly http: HttpService,
    private readonly cache: TokenCacheService,
  ) {}

  onModuleInit(): void {
    this.detach = this.cache.attach(this.http, { source: SOURCES.gateway });
  }

  onModuleDestroy(): void {
    this.detach?.();
  }

  async stock(): Promise<unknown> {
    return (await firstValueFrom(this.http.get('/inventory'))).data;
  }
}
