// TEMPORARY stand-ins, same shapes as the library parts other engineers are landing right now; each is
// deleted as soon as its real export exists.
import { watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { AxiosError, AxiosInstance, InternalAxiosRequestConfig } from 'axios';
import { tokenFunction, type TokenCache, type TokenSource } from 'nestjs-token-cache';

async function postForm(tokenUrl: string, clientId: string, clientSecret: string, form: Record<string, string>, signal: AbortSignal) {
  const res = await fetch(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` },
    body: new URLSearchParams(form),
    signal,
  });
  const body = (await res.json()) as { access_token: string; expires_in: number; refresh_token?: string };
  if (!res.ok) throw new Error(`token endpoint answered ${res.status}`);
  return body;
}

export function clientCredentials(o: { tokenUrl: string; clientId: string; clientSecret: string; scope?: string; audience?: string }): TokenSource {
  return tokenFunction(async (_r, { signal }) => {
    const b = await postForm(o.tokenUrl, o.clientId, o.clientSecret, { grant_type: 'client_credentials', ...(o.scope && { scope: o.scope }), ...(o.audience && { audience: o.audience }) }, signal);
    return { accessToken: b.access_token, expiresIn: b.expires_in };
  });
}

export function refreshTokenGrant(o: { tokenUrl: string; clientId: string; clientSecret: string; refreshToken: string; onRefreshTokenRotated?: (rt: string) => void }): TokenSource {
  let rt = o.refreshToken;
  return tokenFunction(async (_r, { signal }) => {
    const b = await postForm(o.tokenUrl, o.clientId, o.clientSecret, { grant_type: 'refresh_token', refresh_token: rt }, signal);
    if (b.refresh_token) {
      rt = b.refresh_token;
      o.onRefreshTokenRotated?.(rt);
    }
    return { accessToken: b.access_token, expiresIn: b.expires_in };
  });
}

export function fileToken(o: { path: string; format?: 'raw' | 'json'; field?: string }): TokenSource {
  const base = tokenFunction(async () => {
    const text = await readFile(o.path, 'utf8');
    return o.format === 'json' ? String((JSON.parse(text) as Record<string, unknown>)[o.field ?? 'access_token']) : text.trim();
  });
  return {
    ...base,
    kind: 'file',
    watch(onChange) {
      const w = watch(dirname(o.path), (_e, name) => name === basename(o.path) && onChange());
      return () => w.close();
    },
  };
}

type Cfg = InternalAxiosRequestConfig & { _token?: string; _retried?: boolean };

export function attachTokenCache(instance: AxiosInstance, cache: TokenCache, opts: { source: string; subject?: string; audience?: string }): () => void {
  const params = { subject: opts.subject, audience: opts.audience };
  const req = instance.interceptors.request.use(async (config: Cfg) => {
    config._token = await cache.getToken(opts.source, params);
    config.headers.set('Authorization', `Bearer ${config._token}`);
    return config;
  });
  const res = instance.interceptors.response.use(undefined, async (error: AxiosError) => {
    const config = error.config as Cfg | undefined;
    if (error.response?.status === 401 && config && !config._retried) {
      await cache.invalidate(opts.source, params, config._token);
      config._retried = true;
      return instance.request(config);
    }
    throw error;
  });
  return () => {
    instance.interceptors.request.eject(req);
    instance.interceptors.response.eject(res);
  };
}

import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { TokenCacheService } from 'nestjs-token-cache';

@Injectable()
export class TokenCacheHealthIndicator {
  constructor(
    private readonly h: HealthIndicatorService,
    private readonly cache: TokenCacheService,
  ) {}

  isHealthy(key = 'token-cache') {
    const sources = Object.fromEntries(this.cache.sourceNames().map((n) => [n, this.cache.sourceStatus(n)]));
    const details = { size: this.cache.stats().size, hitRate: this.cache.stats().hitRate, store: { type: 'memory', reachable: true }, sources };
    const failing = Object.values(sources).some((s) => s.state === 'failing');
    return failing ? this.h.check(key).down(details) : this.h.check(key).up(details);
  }
}
