/** The demo's token sources: the five kinds of API users brought to the cache. */
import { clientCredentials, fileToken, refreshTokenGrant, tokenExchange, tokenFunction, TokenFetchError, type TokenSource } from 'nestjs-token-cache';
import { DEMO_API_USERS, DEMO_CLIENTS, TOKEN_FILES } from '../demo.config.js';
import type { DemoContext } from './demo-context.js';

export const SOURCES = {
  trading: 'trading',
  music: 'music',
  gateway: 'gateway',
  /** On-behalf-of (RFC 8693): a signed-in user's token exchanged for an orders-api token. */
  obo: 'obo',
  file: (name: string) => `${name}-file`,
} as const;

/**
 * A ProjectX-style login: POST the API user's key to `<API URL>/api/Auth/loginKey`, get a JWT. The cache
 * keys it by `subject` (the API user) and `audience` (the API URL), so every bot of one user on one
 * gateway shares one token, and nothing is shared across gateways.
 */
export function tradingLogin(apiKeys: Record<string, string>): TokenSource {
  return tokenFunction(
    async ({ subject, audience }, { signal }) => {
      const apiKey = subject === undefined ? undefined : apiKeys[subject];
      if (audience === undefined || apiKey === undefined) {
        throw new TokenFetchError(`trading login needs an API URL (audience) and a known API user (subject), got user "${subject ?? ''}"`);
      }
      const res = await fetch(`${audience}/api/Auth/loginKey`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userName: subject, apiKey }),
        signal,
      });
      const body = (await res.json().catch(() => ({}))) as { token?: string; success?: boolean; errorMessage?: string };
      if (!res.ok || !body.success || typeof body.token !== 'string') {
        throw new TokenFetchError(`trading login for "${subject}" refused: ${body.errorMessage ?? `HTTP ${res.status}`}`, { status: res.status });
      }
      // A bare JWT: the cache reads its expiry from the exp claim (24 h on the real gateway).
      return body.token;
    },
    { defaultTtlMs: 24 * 3600_000 },
  );
}

export function buildDemoSources(ctx: DemoContext): Record<string, TokenSource> {
  const sources: Record<string, TokenSource> = {
    [SOURCES.trading]: tradingLogin(DEMO_API_USERS),
    [SOURCES.music]: refreshTokenGrant({
      tokenUrl: ctx.tokenUrl,
      clientId: DEMO_CLIENTS.music.clientId,
      clientSecret: DEMO_CLIENTS.music.clientSecret,
      refreshToken: ctx.musicRefreshToken,
      // A real app persists the successor (a database, a secret store); the demo only counts rotations.
      onRefreshTokenRotated: () => {
        ctx.counters.musicRefreshTokenRotations++;
      },
    }),
    [SOURCES.gateway]: clientCredentials({
      tokenUrl: ctx.tokenUrl,
      clientId: DEMO_CLIENTS.gateway.clientId,
      clientSecret: DEMO_CLIENTS.gateway.clientSecret,
      scope: DEMO_CLIENTS.gateway.scope,
      audience: DEMO_CLIENTS.gateway.audience,
    }),
    // The issuer alone: the token endpoint comes from its discovery document, read on the first exchange.
    [SOURCES.obo]: tokenExchange({
      issuer: ctx.idpUrl,
      clientId: DEMO_CLIENTS.app.clientId,
      clientSecret: DEMO_CLIENTS.app.clientSecret,
      scope: DEMO_CLIENTS.app.scope,
    }),
  };
  for (const file of TOKEN_FILES) {
    sources[SOURCES.file(file.name)] = fileToken(
      file.format === 'json' ? { path: ctx.writer.filePath(file.name), format: 'json', field: 'access_token' } : { path: ctx.writer.filePath(file.name) },
    );
  }
  return sources;
}
