/** The forFeature clients: axios instances with the token cache's interceptor attached, one per downstream API. */
import { Inject, Module, type DynamicModule } from '@nestjs/common';
import axios from 'axios';
import { TokenCacheService } from 'nestjs-token-cache';
import { TOKEN_FILES } from '../demo.config.js';
import type { DemoContext } from './demo-context.js';
import { SOURCES } from './demo-sources.js';
import { attachTokenCache } from './fallbacks.js';

export const FEATURE_CLIENTS = [
  { name: 'gateway', source: SOURCES.gateway, path: '/gateway' },
  { name: 'music', source: SOURCES.music, path: '/music/v1' },
  ...TOKEN_FILES.map((f) => ({ name: SOURCES.file(f.name), source: SOURCES.file(f.name), path: '/warehouse' })),
];

const clientToken = (name: string) => `demo-token-client:${name}`;
export const InjectFeatureClient = (name: string) => Inject(clientToken(name));

@Module({})
class FallbackFeatureClientsModule {}

export function featureClientModules(ctx: DemoContext): DynamicModule[] {
  const providers = FEATURE_CLIENTS.map((c) => ({
    provide: clientToken(c.name),
    inject: [TokenCacheService],
    useFactory: (cache: TokenCacheService) => {
      const http = axios.create({ baseURL: `${ctx.apiUrl}${c.path}`, timeout: 10_000 });
      attachTokenCache(http, cache, { source: c.source });
      return http;
    },
  }));
  return [{ module: FallbackFeatureClientsModule, providers, exports: providers.map((p) => p.provide) }];
}
