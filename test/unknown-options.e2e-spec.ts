import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

// Every place a user passes an options object, run from the built package (dist) as an app loads it, with
// import() and with require(): a misspelt name is a TokenCacheConfigError naming it with its path and a
// did-you-mean, at construction (or module definition, or Nest start), never at the first fetch.
const probe = fileURLToPath(new URL('./support/unknown-options-probe.mjs', import.meta.url));
type Outcome = { threw: boolean; name?: string; option?: string; message: string; typed?: boolean };

function runProbe(mode: 'esm' | 'cjs'): Promise<Record<string, Outcome>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [probe, mode], { cwd: fileURLToPath(new URL('..', import.meta.url)) });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`probe exited ${code}: ${err}`))));
  });
}

/** [case, the option named, the suggestion] */
const unknownNames: [string, string, string | undefined][] = [
  ['TokenCache', 'fetchTimeoutMS', 'fetchTimeoutMs'],
  ['clientCredentials', 'clientCredentials.tokenURL', 'clientCredentials.tokenUrl'],
  ['clientCredentials.tls', 'clientCredentials.tls.passphase', 'clientCredentials.tls.passphrase'],
  ['clientCredentials.dpop', 'clientCredentials.dpop.algo', 'clientCredentials.dpop.alg'],
  ['clientCredentials.privateKey', 'clientCredentials.privateKey.kidd', 'clientCredentials.privateKey.kid'],
  ['clientCredentials.clientAssertion', 'clientCredentials.clientAssertion.pth', 'clientCredentials.clientAssertion.path'],
  ['refreshTokenGrant', 'refreshTokenGrant.onRefreshTokenRotate', 'refreshTokenGrant.onRefreshTokenRotated'],
  ['tokenExchange', 'tokenExchange.subjectTokenTyp', 'tokenExchange.subjectTokenType'],
  ['jwtBearer', 'jwtBearer.scopes', 'jwtBearer.scope'],
  ['tokenFunction', 'tokenFunction.defaultTTLMs', 'tokenFunction.defaultTtlMs'],
  ['fileToken', 'fileToken.fromat', 'fileToken.format'],
  ['staticToken', 'staticToken.expiresInMs', 'staticToken.expiresIn'],
  ['MemoryTokenStore', 'MemoryTokenStore.maxEntry', undefined],
  ['RedisTokenStore', 'RedisTokenStore.keyprefix', 'RedisTokenStore.keyPrefix'],
  ['attachTokenCache', 'scope', 'scopes'],
  ['cache.attach', 'subjectTokn', 'subjectToken'],
  ['tokenFetch', 'baseUrl', 'baseURL'],
  ['tokenFetch init.tokenCache', 'tokenCache.subjet', 'tokenCache.subject'],
  ['axios config.tokenCache', 'tokenCache.scope', 'tokenCache.scopes'],
  ['forRoot', 'fetchTimeoutMS', 'fetchTimeoutMs'],
  ['forRoot.admin', 'admin.enable', 'admin.enabled'],
  ['forRootAsync', 'useFactry', 'useFactory'],
  ['forRootAsync factory (at start)', 'expirySkewMS', 'expirySkewMs'],
  ['forFeature', 'baseUrl', 'baseURL'],
  ['forFeature fetch', 'baseURl', 'baseURL'],
];

/** [case, the option named] for values of a clear type. */
const badValues: [string, string][] = [
  ['value: tokenUrl not a URL', 'clientCredentials.tokenUrl'],
  ['value: tokenUrl with a password', 'clientCredentials.tokenUrl'],
  ['value: negative timeoutMs', 'clientCredentials.timeoutMs'],
  ['value: maxResponseBytes 0', 'refreshTokenGrant.maxResponseBytes'],
  ['value: fileToken debounceMs', 'fileToken.debounceMs'],
  ['value: tokenFunction timeoutMs', 'tokenFunction.timeoutMs'],
  ['value: staticToken with a newline', 'staticToken'],
  ['value: staticToken tokenType', 'staticToken.tokenType'],
  ['value: attach header', 'header'],
  ['value: tokenFetch baseURL', 'baseURL'],
  ['value: RedisTokenStore lockTtlMs', 'lockTtlMs'],
  ['value: maxEntries 2**31', 'maxEntries'],
];

describe.each(['esm', 'cjs'] as const)('options are checked, from the built package (%s)', (mode) => {
  let results: Record<string, Outcome>;
  beforeAll(async () => {
    results = await runProbe(mode);
  }, 60_000);

  it.each(unknownNames)('%s: an unknown name is a TokenCacheConfigError naming %s (did you mean %s?)', (name, option, suggestion) => {
    const r = results[name]!;
    expect(r, name).toMatchObject({ threw: true, name: 'TokenCacheConfigError', typed: true, option });
    expect(r.message).toContain(`"${option}"`);
    if (suggestion !== undefined) expect(r.message).toContain(`did you mean "${suggestion}"`);
  });

  it.each(badValues)('%s: a TokenCacheConfigError naming %s', (name, option) => {
    expect(results[name], name).toMatchObject({ threw: true, name: 'TokenCacheConfigError', typed: true, option });
  });

  it('the health check reports an unknown option as down, naming it (isHealthy never throws)', () => {
    expect(results.isHealthy).toMatchObject({ threw: true, name: 'TokenCacheConfigError' });
    expect(results.isHealthy!.message).toContain('"isHealthy.source": did you mean "isHealthy.sources"');
  });

  it('no message repeats a secret or a URL password', () => {
    const all = JSON.stringify(results);
    for (const secret of ['probe-secret-value', 'probe-url-password', 'probe-refresh', 'probe-assertion', 'probe-token']) expect(all).not.toContain(secret);
  });
});
