// Runs every options entry point of the built package (dist, as an app loads it) with a misspelt or bad
// option and prints what each threw, as JSON. `node unknown-options-probe.mjs esm|cjs`: the package is
// loaded with import() or with require() (a CommonJS app), so both module systems are checked.
import 'reflect-metadata';
import { createRequire } from 'node:module';

const mode = process.argv[2] ?? 'esm';
const require = createRequire(import.meta.url);
const load = (spec) => (mode === 'cjs' ? Promise.resolve(require(spec)) : import(spec));
const core = await load('nestjs-token-cache/core');
const nest = await load('nestjs-token-cache');
const { RedisTokenStore } = await load('nestjs-token-cache/redis');
const { TokenCacheHealthIndicator } = await load('nestjs-token-cache/health');
const { NestFactory } = await import('@nestjs/core');
const { Module } = await import('@nestjs/common');
const { HealthIndicatorService } = await import('@nestjs/terminus');
const axios = (await import('axios')).default;

const tokenUrl = 'https://idp.example.test/oauth2/token';
const oauth = { tokenUrl, clientId: 'app', clientSecret: 'probe-secret-value' };
const sources = { api: core.staticToken('probe-token') };
const cache = new core.TokenCache({ sources });

/** [case name, function that must throw or reject] */
const cases = [
  ['TokenCache', () => new core.TokenCache({ sources, fetchTimeoutMS: 1 })],
  ['clientCredentials', () => core.clientCredentials({ ...oauth, tokenUrl: undefined, tokenURL: tokenUrl })],
  ['clientCredentials.tls', () => core.clientCredentials({ ...oauth, tls: { ca: 'x', passphase: 'p' } })],
  ['clientCredentials.dpop', () => core.clientCredentials({ ...oauth, dpop: { privateKey: 'x', algo: 'ES256' } })],
  ['clientCredentials.privateKey', () => core.clientCredentials({ ...oauth, clientSecret: undefined, authMethod: 'private_key_jwt', privateKey: { key: 'x', kidd: '1' } })],
  ['clientCredentials.clientAssertion', () => core.clientCredentials({ ...oauth, clientSecret: undefined, authMethod: 'client_assertion', clientAssertion: { pth: '/x' } })],
  ['refreshTokenGrant', () => core.refreshTokenGrant({ ...oauth, refreshToken: 'probe-refresh', onRefreshTokenRotate: () => undefined })],
  ['tokenExchange', () => core.tokenExchange({ ...oauth, subjectTokenTyp: 'x' })],
  ['jwtBearer', () => core.jwtBearer({ tokenUrl, assertion: 'probe-assertion', scopes: ['a'] })],
  ['tokenFunction', () => core.tokenFunction(() => 't', { defaultTTLMs: 1000 })],
  ['fileToken', () => core.fileToken({ path: '/tmp/probe-token', fromat: 'json' })],
  ['staticToken', () => core.staticToken('t', { expiresInMs: 1 })],
  ['MemoryTokenStore', () => new core.MemoryTokenStore({ maxEntry: 1 })],
  ['RedisTokenStore', () => new RedisTokenStore({ url: 'redis://127.0.0.1:1', keyprefix: 'x' })],
  ['attachTokenCache', () => core.attachTokenCache(axios.create(), cache, { source: 'api', scope: ['a'] })],
  ['cache.attach', () => cache.attach(axios.create(), { source: 'api', subjectTokn: 'x' })],
  ['tokenFetch', () => core.tokenFetch(cache, { source: 'api', baseUrl: 'https://api.example.test' })],
  ['tokenFetch init.tokenCache', () => core.tokenFetch(cache, { source: 'api', fetch: async () => new Response('') })('https://api.example.test/', { tokenCache: { subjet: 'alice' } })],
  ['axios config.tokenCache', () => {
    const instance = axios.create({ adapter: async (config) => ({ data: '', status: 200, statusText: 'OK', headers: {}, config }) });
    core.attachTokenCache(instance, cache, { source: 'api' });
    return instance.get('https://api.example.test/', { tokenCache: { scope: ['x'] } });
  }],
  ['forRoot', () => nest.TokenCacheModule.forRoot({ sources, fetchTimeoutMS: 1 })],
  ['forRoot.admin', () => nest.TokenCacheModule.forRoot({ sources, admin: { enable: true } })],
  ['forRootAsync', () => nest.TokenCacheModule.forRootAsync({ useFactry: () => ({ sources }) })],
  ['forRootAsync factory (at start)', async () => {
    class AppModule {}
    Module({ imports: [nest.TokenCacheModule.forRootAsync({ useFactory: () => ({ sources, expirySkewMS: 1 }) })] })(AppModule);
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false, abortOnError: false });
    await app.close();
  }],
  ['forFeature', () => nest.TokenCacheModule.forFeature({ name: 'probe', source: 'api', baseUrl: 'https://api.example.test' })],
  ['forFeature fetch', () => nest.TokenCacheModule.forFeature({ name: 'probe-fetch', client: 'fetch', source: 'api', baseURl: 'https://api.example.test' })],
  ['isHealthy', async () => {
    const result = await new TokenCacheHealthIndicator(new HealthIndicatorService(), undefined, cache).isHealthy('token-cache', { source: ['api'] });
    const { status, error } = result['token-cache'];
    if (status !== 'down') return result;
    throw Object.assign(new Error(error.message), { name: error.name, reported: true });
  }],
  // Values whose type is clear, checked at construction.
  ['value: tokenUrl not a URL', () => core.clientCredentials({ ...oauth, tokenUrl: 'idp.example.test/token' })],
  ['value: tokenUrl with a password', () => core.clientCredentials({ ...oauth, tokenUrl: 'https://app:probe-url-password@idp.example.test/token' })],
  ['value: negative timeoutMs', () => core.clientCredentials({ ...oauth, timeoutMs: -1 })],
  ['value: maxResponseBytes 0', () => core.refreshTokenGrant({ ...oauth, refreshToken: 'r', maxResponseBytes: 0 })],
  ['value: fileToken debounceMs', () => core.fileToken({ path: '/tmp/x', debounceMs: -5 })],
  ['value: tokenFunction timeoutMs', () => core.tokenFunction(() => 't', { timeoutMs: '10s' })],
  ['value: staticToken with a newline', () => core.staticToken('probe-token\n')],
  ['value: staticToken tokenType', () => core.staticToken('t', { tokenType: 'mac' })],
  ['value: attach header', () => core.attachTokenCache(axios.create(), cache, { source: 'api', header: 'Auth orization' })],
  ['value: tokenFetch baseURL', () => core.tokenFetch(cache, { source: 'api', baseURL: 'not a url' })],
  ['value: RedisTokenStore lockTtlMs', () => new RedisTokenStore({ url: 'redis://127.0.0.1:1', lockTtlMs: 0 })],
  ['value: maxEntries 2**31', () => new core.TokenCache({ sources, maxEntries: 2 ** 31 })],
];

const results = {};
for (const [name, run] of cases) {
  try {
    const value = run();
    if (value && typeof value.then === 'function') await value;
    results[name] = { threw: false };
  } catch (error) {
    results[name] = { threw: true, name: error?.name, option: error?.option, message: String(error?.message), typed: error instanceof core.TokenCacheConfigError };
  }
}
await cache.close();
process.stdout.write(JSON.stringify(results));
