import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileToken, TokenCache, TokenCacheConfigError, TokenFetchError, TokenResponseError, type TokenCacheEvent } from 'nestjs-token-cache/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeClock } from '../testing/fake-clock.js';

const ctx = () => ({ signal: new AbortController().signal, clock: new FakeClock() });
const jwt = (claims: Record<string, unknown>) =>
  `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'file-token-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** How a sidecar writes safely: a temporary file renamed over the old one (a new inode). */
async function renameWrite(path: string, content: string): Promise<void> {
  const tmp = `${path}.tmp-${Math.random().toString(36).slice(2)}`;
  await writeFile(tmp, content);
  await rename(tmp, path);
}

describe('fileToken: reading', () => {
  it('raw: the trimmed file is the token; a JWT gets its expiry from exp through the cache', async () => {
    const path = join(dir, 'token');
    const exp = Math.floor(Date.UTC(2026, 0, 1) / 1000) + 3600;
    await writeFile(path, `${jwt({ sub: 'svc', exp })}\n`);
    const source = fileToken({ path });
    expect(source.kind).toBe('file');
    expect(await source.fetchToken({ source: 'sa' }, ctx())).toEqual({ accessToken: jwt({ sub: 'svc', exp }) });
    const cache = new TokenCache({ sources: { sa: source }, clock: new FakeClock() });
    expect((await cache.getCachedToken('sa')).expiresAt.getTime()).toBe(exp * 1000);
    await cache.close();
  });

  it('json: field access_token by default, with expires_in, token_type', async () => {
    const path = join(dir, 'token.json');
    await writeFile(path, JSON.stringify({ access_token: 'opaque', expires_in: '120', token_type: 'bearer' }));
    expect(await fileToken({ path, format: 'json' }).fetchToken({ source: 's' }, ctx())).toEqual({
      accessToken: 'opaque',
      expiresIn: 120,
      tokenType: 'bearer',
    });
  });

  it('json: a custom or dotted field, with expires_at in epoch seconds or an RFC 3339 expiry', async () => {
    const path = join(dir, 'vault.json');
    await writeFile(path, JSON.stringify({ data: { token: 'vault-token', expires_at: 1_767_229_200 } }));
    expect(await fileToken({ path, format: 'json', field: 'data.token' }).fetchToken({ source: 's' }, ctx())).toEqual({
      accessToken: 'vault-token',
      expiresAt: 1_767_229_200,
    });
    await writeFile(path, JSON.stringify({ token: 'go-token', expiry: '2026-01-01T01:00:00Z' }));
    const cache = new TokenCache({ sources: { s: fileToken({ path, format: 'json', field: 'token' }) }, clock: new FakeClock() });
    expect(await cache.getCachedToken('s')).toMatchObject({ accessToken: 'go-token', expiresAt: new Date('2026-01-01T01:00:00Z') });
    await cache.close();
  });

  it("json: Go's zero expiry (\"0001-01-01T00:00:00Z\", oauth2.Token's 'does not expire') is no expiry; a date-time without an offset is UTC", async () => {
    const path = join(dir, 'go.json');
    const read = async (content: object) => {
      await writeFile(path, JSON.stringify(content));
      return fileToken({ path, format: 'json', field: 'access_token' }).fetchToken({ source: 's' }, ctx());
    };
    expect(await read({ access_token: 'go-token', token_type: 'Bearer', expiry: '0001-01-01T00:00:00Z' })).toEqual({ accessToken: 'go-token', tokenType: 'Bearer' });
    expect(await read({ access_token: 'go-token', expiry: '1970-01-01T00:00:00Z', expires_in: 60 })).toEqual({ accessToken: 'go-token', expiresIn: 60 });
    // Epoch 0 in every spelling is no expiry too.
    expect(await read({ access_token: 'go-token', expires_at: 0 })).toEqual({ accessToken: 'go-token' });
    expect(await read({ access_token: 'go-token', expires_at: '0' })).toEqual({ accessToken: 'go-token' });
    expect(await read({ access_token: 'go-token', expiresAt: '0.0' })).toEqual({ accessToken: 'go-token' });
    // On a host whose time zone is not UTC (Node applies a TZ set at run time to Date at once).
    const tz = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      expect(new Date('2030-03-17T10:00:00').getTime()).not.toBe(Date.parse('2030-03-17T10:00:00Z'));
      expect(await read({ access_token: 'go-token', expiry: '2030-03-17T10:00:00' })).toEqual({ accessToken: 'go-token', expiresAt: new Date('2030-03-17T10:00:00Z') });
      expect(await read({ access_token: 'go-token', expiry: '2030-03-17T10:00:00.250' })).toEqual({ accessToken: 'go-token', expiresAt: new Date('2030-03-17T10:00:00.250Z') });
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
    expect(await read({ access_token: 'go-token', expiry: '2030-03-17T12:00:00+02:00' })).toEqual({ accessToken: 'go-token', expiresAt: new Date('2030-03-17T10:00:00Z') });
  });

  it('a missing file: a retryable TokenFetchError naming the path', async () => {
    const path = join(dir, 'nope');
    const error = (await fileToken({ path }).fetchToken({ source: 's' }, ctx()).catch((e: unknown) => e)) as TokenFetchError;
    expect(error).toBeInstanceOf(TokenFetchError);
    expect(error.message).toContain(path);
    expect(error.message).toContain('does not exist');
    expect(error.retryable).toBe(true);
  });

  it('an empty (or blank) file: a TokenFetchError naming the path, never cached', async () => {
    const path = join(dir, 'token');
    await writeFile(path, ' \n');
    const cache = new TokenCache({ sources: { s: fileToken({ path }) } });
    const error = (await cache.getToken('s').catch((e: unknown) => e)) as TokenFetchError;
    expect(error).toBeInstanceOf(TokenFetchError);
    expect(error.message).toContain(path);
    expect(error.message).toContain('empty');
    expect(cache.entries()).toEqual([]);
    await cache.close();
  });

  it('json: not JSON, no field, a bad expiry are TokenResponseError naming the path; the token never shows', async () => {
    const path = join(dir, 't.json');
    const source = fileToken({ path, format: 'json' });
    for (const content of ['secret-token-not-json', JSON.stringify({ token: 'secret-token' }), JSON.stringify({ access_token: 'secret-token', expires_at: 'later' }), JSON.stringify({ access_token: 'secret-token', expires_in: -1 })]) {
      await writeFile(path, content);
      const error = (await source.fetchToken({ source: 's' }, ctx()).catch((e: unknown) => e)) as TokenResponseError;
      expect(error).toBeInstanceOf(TokenResponseError);
      expect(error.message).not.toContain('secret-token');
    }
  });
});

describe('fileToken: watching', () => {
  it('a rename-write replaces the cached token at once (the directory is watched, not the old inode)', async () => {
    const path = join(dir, 'token');
    await writeFile(path, 'token-a');
    const cache = new TokenCache({ sources: { sa: fileToken({ path, debounceMs: 20 }) } });
    const events: TokenCacheEvent[] = [];
    cache.events$.subscribe((e) => events.push(e));
    expect(await cache.getToken('sa')).toBe('token-a');
    expect(await cache.getToken('sa', { scopes: ['x'] })).toBe('token-a');
    await renameWrite(path, 'token-b');
    await vi.waitFor(() => {
      expect(cache.peek('sa')?.accessToken).toBe('token-b');
      expect(cache.peek('sa', { scopes: ['x'] })?.accessToken).toBe('token-b');
    });
    // A second rename-write is seen too (a watch on the file itself would have gone deaf after the first).
    await renameWrite(path, 'token-c');
    await vi.waitFor(() => expect(cache.peek('sa')?.accessToken).toBe('token-c'));
    expect(events.filter((e) => e.type === 'refreshed').length).toBeGreaterThanOrEqual(4);
    expect(cache.stats().fetchFailures).toBe(0);
    await cache.close();
  });

  it('a Kubernetes-style symlink swap (..data -> new directory) is seen', async () => {
    const path = join(dir, 'token');
    await mkdir(join(dir, '..v1'));
    await writeFile(join(dir, '..v1', 'token'), 'k8s-1');
    await symlink('..v1', join(dir, '..data'));
    await symlink(join('..data', 'token'), path);
    const cache = new TokenCache({ sources: { sa: fileToken({ path, debounceMs: 20 }) } });
    expect(await cache.getToken('sa')).toBe('k8s-1');
    await mkdir(join(dir, '..v2'));
    await writeFile(join(dir, '..v2', 'token'), 'k8s-2');
    await symlink('..v2', join(dir, '..data_tmp'));
    await rename(join(dir, '..data_tmp'), join(dir, '..data'));
    await vi.waitFor(() => expect(cache.peek('sa')?.accessToken).toBe('k8s-2'));
    await cache.close();
  });

  it('calls onChange when the content changes; the returned function and close() stop watching', async () => {
    const path = join(dir, 'token');
    await writeFile(path, 'one');
    const source = fileToken({ path, debounceMs: 10 });
    // A watcher of another source on the same file: once it has seen a change, the others would have too.
    const witness = fileToken({ path, debounceMs: 10 });
    const seen = vi.fn();
    const stopWitness = witness.watch!(seen);
    const onA = vi.fn();
    const onB = vi.fn();
    const stopA = source.watch!(onA);
    source.watch!(onB);
    await renameWrite(path, 'two');
    await vi.waitFor(() => expect(seen).toHaveBeenCalledTimes(1));
    await vi.waitFor(() => {
      expect(onA).toHaveBeenCalledTimes(1);
      expect(onB).toHaveBeenCalledTimes(1);
    });
    stopA();
    await renameWrite(path, 'three');
    await vi.waitFor(() => expect(seen).toHaveBeenCalledTimes(2));
    await vi.waitFor(() => expect(onB).toHaveBeenCalledTimes(2));
    expect(onA).toHaveBeenCalledTimes(1);
    await source.close!();
    await renameWrite(path, 'four');
    await vi.waitFor(() => expect(seen).toHaveBeenCalledTimes(3));
    expect(onB).toHaveBeenCalledTimes(2);
    stopWitness();
  });

  it('content that did not change (a rewrite with the same token, another file in the directory) causes no refetch', async () => {
    const path = join(dir, 'token');
    const other = join(dir, 'other');
    await writeFile(path, 'same');
    await writeFile(other, '0');
    const onChange = vi.fn();
    const stop = fileToken({ path, debounceMs: 10 }).watch!(onChange);
    // A witness watching the other file of the directory: when it has seen a change, our watcher has looked too.
    const seen = vi.fn();
    const stopWitness = fileToken({ path: other, debounceMs: 10 }).watch!(seen);
    let n = 1;
    await vi.waitFor(async () => {
      await renameWrite(other, String(n++));
      expect(seen).toHaveBeenCalled();
    });
    const calls = seen.mock.calls.length;
    await renameWrite(path, 'same');
    await renameWrite(other, 'last');
    await vi.waitFor(() => expect(seen.mock.calls.length).toBeGreaterThan(calls));
    expect(onChange).not.toHaveBeenCalled();
    await renameWrite(path, 'changed');
    await vi.waitFor(() => expect(onChange).toHaveBeenCalledTimes(1));
    stop();
    stopWitness();
  });

  it('a directory that does not exist yet is polled until the file appears', async () => {
    const path = join(dir, 'later', 'token');
    const source = fileToken({ path, debounceMs: 10, pollIntervalMs: 20 });
    const onChange = vi.fn();
    const stop = source.watch!(onChange);
    await expect(source.fetchToken({ source: 's' }, ctx())).rejects.toThrow(/does not exist/);
    await mkdir(join(dir, 'later'));
    await writeFile(path, 'arrived');
    await vi.waitFor(() => expect(onChange).toHaveBeenCalled(), { timeout: 5_000 });
    expect(await source.fetchToken({ source: 's' }, ctx())).toEqual({ accessToken: 'arrived' });
    stop();
  });
});

describe('fileToken options', () => {
  it.each([
    ['fileToken.path', { path: '' }],
    ['fileToken.format', { path: '/x', format: 'yaml' }],
    ['fileToken.field', { path: '/x', format: 'json', field: '' }],
    ['fileToken.field', { path: '/x', field: 'token' }],
    ['fileToken.debounceMs', { path: '/x', debounceMs: -1 }],
    ['fileToken.defaultTtlMs', { path: '/x', defaultTtlMs: 0 }],
  ] as [string, Record<string, unknown>][])('%s is checked at once', (option, options) => {
    let error: unknown;
    try {
      fileToken(options as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TokenCacheConfigError);
    expect((error as TokenCacheConfigError).option).toBe(option);
  });
});
