/** The forFeature clients: axios instances with the token cache's interceptor attached, one per downstream API. */
import type { DynamicModule } from '@nestjs/common';
import { TokenCacheModule } from 'nestjs-token-cache';
import { DEMO_CLIENTS, TOKEN_FILES } from '../demo.config.js';
import type { DemoContext } from './demo-context.js';
import { SOURCES } from './demo-sources.js';

export const FEATURE_CLIENTS = [
  { name: 'gateway', source: SOURCES.gateway, path: '/gateway' },
  { name: 'music', source: SOURCES.music, path: '/music/v1' },
  ...TOKEN_FILES.map((f) => ({ name: SOURCES.file(f.name), source: SOURCES.file(f.name), path: '/warehouse' })),
];

/** The on-behalf-of client: each call carries a token exchanged for the bearer token of the request being handled. */
export const OBO_CLIENT = 'orders-on-behalf-of';

export function featureClientModules(ctx: DemoContext): DynamicModule[] {
  return [
    ...FEATURE_CLIENTS.map((c) => TokenCacheModule.forFeature({ name: c.name, source: c.source, baseURL: `${ctx.apiUrl}${c.path}`, timeout: 10_000 })),
    // The audience names the downstream API (RFC 8693 `audience`): one source can serve clients of several APIs.
    TokenCacheModule.forFeature({ name: OBO_CLIENT, source: SOURCES.obo, subjectToken: 'incoming', audience: DEMO_CLIENTS.app.audience, baseURL: `${ctx.apiUrl}/gateway`, timeout: 10_000 }),
  ];
}
