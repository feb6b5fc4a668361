import { Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { TokenCacheConfigError, TokenCacheModule, TokenCacheService } from 'nestjs-token-cache';
import { FakeClock } from '../libs/token-cache/src/core/testing/fake-clock.js';
import { bootObservedApp, switchableSource, type ObservedApp } from './support/observed-app.js';

let running: ObservedApp | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

/** 401 without a bearer header, 403 with a wrong one: like a real auth guard. */
@Injectable()
class AdminKeyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const auth = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>().headers.authorization;
    if (auth === undefined) throw new UnauthorizedException();
    return auth === 'Bearer ops-key';
  }
}

/** Two sources; `api` holds a fresh and an expired entry, `other` a fresh one. */
async function seeded(admin: object | undefined, clock = new FakeClock()) {
  const api = switchableSource('api-token');
  const other = switchableSource('other-token');
  running = await bootObservedApp(TokenCacheModule.forRoot({ sources: { api, other }, clock, ...(admin && { admin }) }));
  const cache = running.app.get(TokenCacheService);
  api.ttlS = 60;
  await cache.getToken('api', { subject: 'old' });
  clock.advance(55_000); // 60 s token, 6 s skew (API 0.2: at most a tenth of the lifetime): expired
  api.ttlS = 3600;
  await cache.getToken('api');
  await cache.getToken('other');
  return { cache, clock, running };
}

describe('admin endpoints', () => {
  it('are off by default', async () => {
    const { running } = await seeded(undefined);
    expect((await running.get('/token-cache/status')).status).toBe(404);
    expect((await running.del('/token-cache/tokens')).status).toBe(404);
  });

  it('GET /token-cache/status returns stats and entries, never a token; enabled without guards warns at startup', async () => {
    const { running } = await seeded({ enabled: true });
    const warnings = running.logger.tokenCache().filter((l) => l.level === 'warn');
    expect(warnings).toEqual([expect.objectContaining({ message: expect.stringMatching(/admin endpoints are enabled at \/token-cache without guards/) })]);
    const res = await running.get('/token-cache/status');
    expect(res.status).toBe(200);
    expect(res.body.stats).toMatchObject({ size: 3, hits: 0, misses: 3, fetches: 3, hitRate: 0 });
    expect(res.body.entries).toHaveLength(3);
    expect(res.body.entries).toContainEqual({
      key: 'api|sub=old',
      source: 'api',
      subject: 'old',
      expiresAt: expect.any(String),
      expiresInMs: 5_000,
      state: 'expired',
    });
    expect(res.body.entries).toContainEqual(expect.objectContaining({ key: 'other', source: 'other', state: 'fresh', expiresInMs: 600_000 }));
    expect(res.text).not.toMatch(/api-token|other-token/);
  });

  it('DELETE /token-cache/tokens: expired=true, source=x, both, and no query', async () => {
    const { running, cache } = await seeded({ enabled: true });
    expect((await running.del('/token-cache/tokens?expired=true&source=other')).body).toEqual({ removed: 0 });
    expect((await running.del('/token-cache/tokens?expired=true&source=api')).body).toEqual({ removed: 1 });
    expect(cache.entries().map((e) => e.key).sort()).toEqual(['api', 'other']);
    const bySource = await running.del('/token-cache/tokens?source=other');
    expect(bySource).toMatchObject({ status: 200, body: { removed: 1 } });
    expect(cache.entries().map((e) => e.key)).toEqual(['api']);
    await cache.getToken('other');
    expect((await running.del('/token-cache/tokens?expired=false')).body).toEqual({ removed: 2 });
    await cache.getToken('other');
    expect((await running.del('/token-cache/tokens')).body).toEqual({ removed: 1 });
    expect(cache.stats().size).toBe(0);
  });

  it('DELETE with expired=true alone removes only expired entries', async () => {
    const { running, cache } = await seeded({ enabled: true });
    expect((await running.del('/token-cache/tokens?expired=true')).body).toEqual({ removed: 1 });
    expect(cache.entries().map((e) => e.key).sort()).toEqual(['api', 'other']);
  });

  it('an empty source= (the documented ?source=&expired=true form) means no source filter', async () => {
    const { running, cache } = await seeded({ enabled: true });
    expect((await running.del('/token-cache/tokens?source=&expired=true')).body).toEqual({ removed: 1 });
    expect(cache.entries().map((e) => e.key).sort()).toEqual(['api', 'other']);
  });

  it('answers 400 with a message for bad query values, and removes nothing', async () => {
    const { running, cache } = await seeded({ enabled: true });
    for (const [query, message] of [
      ['expired=maybe', /"expired" must be "true" or "false"/],
      ['source=nope', /"source" is not a configured token source \(configured: "api", "other"\)/],
      ['source=api&source=other', /"source" must be one configured source name/],
      ['sorce=api', /Unknown query parameter/],
    ] as const) {
      const res = await running.del(`/token-cache/tokens?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.message, query).toMatch(message);
    }
    expect(cache.stats().size).toBe(3);
  });

  it('sit behind admin.guards on admin.path (401 / 403 from the guard), with no warning', async () => {
    const { running } = await seeded({ enabled: true, path: '/ops/tokens/', guards: [AdminKeyGuard] });
    expect(running.logger.tokenCache().filter((l) => l.level === 'warn')).toEqual([]);
    expect((await running.get('/token-cache/status')).status).toBe(404);
    expect((await running.get('/ops/tokens/status')).status).toBe(401);
    expect((await running.get('/ops/tokens/status', { authorization: 'Bearer wrong' })).status).toBe(403);
    expect((await running.del('/ops/tokens/tokens', { authorization: 'Bearer wrong' })).status).toBe(403);
    expect((await running.get('/ops/tokens/status', { authorization: 'Bearer ops-key' })).status).toBe(200);
    expect((await running.del('/ops/tokens/tokens', { authorization: 'Bearer ops-key' })).body).toEqual({ removed: 3 });
  });

  it('forRootAsync takes admin as a top-level field', async () => {
    running = await bootObservedApp(
      TokenCacheModule.forRootAsync({
        admin: { enabled: true, path: 'async-admin', guards: [AdminKeyGuard] },
        useFactory: () => ({ sources: { api: switchableSource() } }),
      }),
    );
    await running.app.get(TokenCacheService).getToken('api');
    const res = await running.get('/async-admin/status', { authorization: 'Bearer ops-key' });
    expect(res.status).toBe(200);
    expect(res.body.entries).toEqual([expect.objectContaining({ key: 'api', source: 'api', state: 'fresh' })]);
    expect((await running.get('/async-admin/status')).status).toBe(401);
  });

  it('rejects bad admin options when the module is defined, naming the option', () => {
    const sources = { api: switchableSource() };
    const bad = (admin: unknown) => () => TokenCacheModule.forRoot({ sources, admin: admin as never });
    expect(bad({ enabled: true, path: '' })).toThrow(TokenCacheConfigError);
    expect(bad({ enabled: true, path: '' })).toThrow(/admin\.path/);
    expect(bad({ enabled: 'yes' })).toThrow(/admin\.enabled/);
    expect(bad({ enabled: true, guards: [undefined] })).toThrow(/admin\.guards/);
    expect(bad({ enabled: true, guards: AdminKeyGuard })).toThrow(/admin\.guards/);
  });
});
