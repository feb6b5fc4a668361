/** Every knob of the demo, with its environment variable and default. */
import { randomBytes } from 'node:crypto';

export interface DemoOptions {
  /** The demo app's port. `PORT`, default 3000; 0 picks a free one. */
  port?: number;
  /** The resource API's port. `DEMO_API_PORT`, default 3001; 0 picks a free one. */
  apiPort?: number;
  /** The IdP's port. `DEMO_IDP_PORT`, default 3002; 0 picks a free one. */
  idpPort?: number;
  /** Interface everything listens on. `DEMO_HOST`, default 127.0.0.1 (loopback only). */
  host?: string;
  /** Lifetime of every token the IdP issues, in seconds. `DEMO_TOKEN_TTL_S`, default 60. */
  ttlSeconds?: number;
  /**
   * Use an IdP and resource API another demo instance started, instead of starting new ones. Set both
   * (`DEMO_IDP_URL`, `DEMO_API_URL`): two instances share tokens only when they share an IdP.
   */
  idpUrl?: string;
  apiUrl?: string;
  /** Keep tokens in Redis (RedisTokenStore) so instances share them. `REDIS_URL`, default none (memory). */
  redisUrl?: string;
  /** Prefix of every Redis key the demo writes. `DEMO_REDIS_PREFIX`, default `token-cache-demo:`. */
  redisKeyPrefix?: string;
  /** Where the sidecar writes the token files. `DEMO_TOKEN_DIR`, default a fresh temporary directory. */
  tokenDir?: string;
  /** How often the sidecar rewrites the token files, in ms. `DEMO_FILE_ROTATE_MS`, default a third of the TTL, at most 20 000. */
  fileRotateMs?: number;
  /** Value of the `x-admin-key` header the admin endpoints want. `DEMO_ADMIN_KEY`, default random, printed at start. */
  adminKey?: string;
  /** Nest's log output; false silences it (tests, the load script). */
  logger?: boolean;
  /**
   * A gentle background caller: every this many ms the demo calls its own routes (gateway, music, files, one
   * trading bot) so tokens are in use and refresh ahead of expiry while you watch. `DEMO_BACKGROUND_CALL_MS`;
   * `npm start` uses 5 000 unless set, 0 turns it off (the default of `createDemo`).
   */
  backgroundCallMs?: number;
}

export type ResolvedDemoOptions = Required<Omit<DemoOptions, 'idpUrl' | 'apiUrl' | 'redisUrl' | 'tokenDir'>> &
  Pick<DemoOptions, 'idpUrl' | 'apiUrl' | 'redisUrl' | 'tokenDir'>;

function int(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

/** Options from the environment (what `npm start` and `npm run demo:load` read). */
export function demoOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): DemoOptions {
  return {
    port: int('PORT', env.PORT),
    apiPort: int('DEMO_API_PORT', env.DEMO_API_PORT),
    idpPort: int('DEMO_IDP_PORT', env.DEMO_IDP_PORT),
    host: env.DEMO_HOST || undefined,
    ttlSeconds: int('DEMO_TOKEN_TTL_S', env.DEMO_TOKEN_TTL_S),
    idpUrl: env.DEMO_IDP_URL || undefined,
    apiUrl: env.DEMO_API_URL || undefined,
    redisUrl: env.REDIS_URL || undefined,
    redisKeyPrefix: env.DEMO_REDIS_PREFIX || undefined,
    tokenDir: env.DEMO_TOKEN_DIR || undefined,
    fileRotateMs: int('DEMO_FILE_ROTATE_MS', env.DEMO_FILE_ROTATE_MS),
    adminKey: env.DEMO_ADMIN_KEY || undefined,
    backgroundCallMs: int('DEMO_BACKGROUND_CALL_MS', env.DEMO_BACKGROUND_CALL_MS),
  };
}

export function resolveDemoOptions(options: DemoOptions = {}): ResolvedDemoOptions {
  const ttlSeconds = options.ttlSeconds ?? 60;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 2) throw new Error(`DEMO_TOKEN_TTL_S must be an integer of at least 2 seconds, got ${ttlSeconds}`);
  if ((options.idpUrl === undefined) !== (options.apiUrl === undefined)) {
    throw new Error('Set both DEMO_IDP_URL and DEMO_API_URL (the IdP and resource API of a running demo), or neither');
  }
  return {
    port: options.port ?? 3000,
    apiPort: options.apiPort ?? 3001,
    idpPort: options.idpPort ?? 3002,
    host: options.host ?? '127.0.0.1',
    ttlSeconds,
    idpUrl: options.idpUrl?.replace(/\/+$/, ''),
    apiUrl: options.apiUrl?.replace(/\/+$/, ''),
    redisUrl: options.redisUrl,
    redisKeyPrefix: options.redisKeyPrefix ?? 'token-cache-demo:',
    tokenDir: options.tokenDir,
    fileRotateMs: options.fileRotateMs ?? Math.min(20_000, Math.floor((ttlSeconds * 1000) / 3)),
    adminKey: options.adminKey ?? randomBytes(12).toString('base64url'),
    logger: options.logger ?? true,
    backgroundCallMs: options.backgroundCallMs ?? 0,
  };
}

/** The demo's made-up credentials. They are secrets to the cache all the same: never logged or shown. */
export const DEMO_CLIENTS = {
  gateway: { clientId: 'orders-service', clientSecret: 'orders-demo-secret', audience: 'orders-api', scope: 'orders:read' },
  music: { clientId: 'music-app', clientSecret: 'music-demo-secret', subject: 'listener-42' },
  sidecar: { clientId: 'warehouse-sidecar', clientSecret: 'sidecar-demo-secret', audience: 'warehouse-api' },
  /** The demo app itself as an OAuth client: users sign in to it, and it exchanges their tokens (on-behalf-of). */
  app: { clientId: 'demo-app', clientSecret: 'demo-app-secret', audience: 'orders-api', scope: 'orders:read' },
} as const;

/**
 * People who sign in to the demo app (user -> password at the demo IdP). Their tokens (`aud: demo-app`) are
 * what `GET /me/orders` exchanges (RFC 8693) for an orders-api token on their behalf.
 */
export const DEMO_USERS: Record<string, string> = { alice: 'alice-demo-password', bob: 'bob-demo-password' };

export const DEMO_API_USERS: Record<string, string> = { alice: 'ak_alice_demo_0001', bob: 'ak_bob_demo_0002' };

/** Trading bots: many client instances, one token per (API URL, API user). */
export const TRADING_BOTS = [
  { bot: 'alice-scalper', venue: 'topstep', user: 'alice' },
  { bot: 'alice-swing', venue: 'topstep', user: 'alice' },
  { bot: 'alice-hedge', venue: 'alphaticks', user: 'alice' },
  { bot: 'bob-scalper', venue: 'topstep', user: 'bob' },
  { bot: 'bob-news', venue: 'topstep', user: 'bob' },
] as const;

/** The token files the sidecar writes, one source each. */
export const TOKEN_FILES = [
  { name: 'reports', file: 'reports.token', format: 'raw' },
  { name: 'billing', file: 'billing.json', format: 'json' },
] as const;
