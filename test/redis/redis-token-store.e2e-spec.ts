/**
 * RedisTokenStore against a real Redis, with several caches ("instances") in one process. The
 * multi-process suite (redis-multi-process.e2e-spec.ts) checks the same promises across real processes.
 */
import { randomBytes } from 'node:crypto';
import { tracingChannel } from 'node:diagnostics_channel';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { TokenCache, TokenFetchError, tokenFunction, type StoredToken, type TokenStoreEvent } from 'nestjs-token-cache/core';
import { RedisTokenStore, type RedisTokenStoreOptions } from 'nestjs-token-cache/redis';
import { FakeClock } from '../../libs/token-cache/src/core/testing/fake-clock.js';
import { RedisProxy } from '../support/redis-proxy.js';
import { deleteTestKeys, PrivateRedisServer, TEST_REDIS_URL, testRedisAvailable, uniquePrefix } from '../support/redis-test-server.js';

const hasRedis = await testRedisAvailable('RedisTokenStore e2e');

/** A token source that counts its calls and hands out distinct tokens. */
function countingSource(options: { delayMs?: number; expiresIn?: number } = {}) {
  const state = { calls: 0, issued: [] as string[] };
  const source = tokenFunction(async () => {
    state.calls++;
    const accessToken = `tok-${state.calls}-${randomBytes(6).toString('hex')}`;
    state.issued.push(accessToken);
    if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
    return { accessToken, expiresIn: options.expiresIn ?? 3600 };
  });
  return { source, state };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - started;
}

describe.skipIf(!hasRedis)('RedisTokenStore (real Redis, caches in one process)', () => {
  let admin: Redis;
  const closers: (() => Promise<unknown>)[] = [];

  beforeAll(() => {
    admin = new Redis(TEST_REDIS_URL);
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });
  afterAll(async () => {
    await deleteTestKeys();
    await admin.quit();
  });

  /** A store and a cache over it, both closed after the test. */
  function instance(source: ReturnType<typeof tokenFunction>, storeOptions: RedisTokenStoreOptions, cacheOptions: object = {}) {
    const store = new RedisTokenStore({ url: TEST_REDIS_URL, ...storeOptions });
    const cache = new TokenCache({ sources: { api: source }, store, ...cacheOptions });
    closers.push(() => cache.close());
    return { store, cache };
  }

  it('shares one token between instances: the second reads it through, fetching nothing', async () => {
    const keyPrefix = uniquePrefix('share');
    const { source, state } = countingSource();
    const a = instance(source, { keyPrefix });
    const b = instance(source, { keyPrefix });
    const token = await a.cache.getToken('api');
    expect(await b.cache.getToken('api')).toBe(token);
    expect(state.calls).toBe(1);
    expect(b.store.peek('api')?.accessToken).toBe(token);
    expect(a.store.type).toBe('redis');
    expect(a.store.reachable).toBe(true);
  });

  it('runs one fetch for concurrent callers of a cold key on several instances', async () => {
    const keyPrefix = uniquePrefix('flight');
    const { source, state } = countingSource({ delayMs: 100 });
    const instances = [0, 1, 2].map(() => instance(source, { keyPrefix }));
    const tokens = await Promise.all(instances.flatMap(({ cache }) => Array.from({ length: 30 }, () => cache.getToken('api', { subject: 'u1' }))));
    expect(state.calls).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    // A different key is a different token and a different fetch.
    const other = await instances[1]!.cache.getToken('api', { subject: 'u2' });
    expect(other).not.toBe(tokens[0]);
    expect(state.calls).toBe(2);
  });

  it('shares refresh-ahead: instances that all see the token due refresh it with one fetch, and all switch to it', async () => {
    const keyPrefix = uniquePrefix('ahead');
    const { source, state } = countingSource({ expiresIn: 60, delayMs: 50 });
    // The caches' clock starts at real time (Redis expires keys on its own clock) and moves without sleeping.
    const clock = new FakeClock(Date.now());
    // random 0: every instance's jittered point is the window's start, so all are due at once (in step).
    const options = { clock, refreshBeforeExpiryMs: 30_000, expirySkewMs: 0, random: () => 0 };
    const instances = [0, 1, 2].map(() => instance(source, { keyPrefix }, options));
    const t1 = await instances[0]!.cache.getToken('api');
    for (const { cache } of instances) expect(await cache.getToken('api')).toBe(t1);
    clock.advance(31_000);
    // Due for refresh: every caller still gets t1 at once, and each instance starts a background refresh.
    const now = await Promise.all(instances.map(({ cache }) => cache.getToken('api')));
    expect(now).toEqual([t1, t1, t1]);
    await until(() => instances.every(({ store }) => store.peek('api') !== undefined && store.peek('api')!.accessToken !== t1));
    const t2 = instances[0]!.store.peek('api')!.accessToken;
    for (const { cache } of instances) expect(await cache.getToken('api')).toBe(t2);
    expect(state.calls).toBe(2);
    // Stats count this instance's source calls: one refresh ahead in the fleet, a part of its instance's fetches.
    const stats = instances.map(({ cache }) => cache.stats());
    expect(stats.reduce((n, s) => n + s.refreshesAhead, 0)).toBe(1);
    expect(stats.reduce((n, s) => n + s.fetches, 0)).toBe(2);
    for (const s of stats) expect(s.refreshesAhead).toBeLessThanOrEqual(s.fetches);
  });

  it('spreads refresh-ahead over the window (jitter): the first instance to reach its point refreshes, the others take its token', async () => {
    const keyPrefix = uniquePrefix('jitter');
    const { source, state } = countingSource({ expiresIn: 3_600 });
    const clock = new FakeClock(Date.now());
    // Window: from 300 s before expiry to half-way to expiry - skew, i.e. [+3_300 s, +3_435 s]; A's point 10 %, B's 80 %.
    const timing = { clock, refreshBeforeExpiryMs: 300_000, expirySkewMs: 30_000 };
    const a = instance(source, { keyPrefix }, { ...timing, random: () => 0.1 });
    const b = instance(source, { keyPrefix }, { ...timing, random: () => 0.8 });
    const t1 = await a.cache.getToken('api');
    expect(await b.cache.getToken('api')).toBe(t1);
    clock.advance(3_310_000); // in the window, before both points
    expect([await a.cache.getToken('api'), await b.cache.getToken('api')]).toEqual([t1, t1]);
    expect(a.cache.stats().refreshesAhead + b.cache.stats().refreshesAhead).toBe(0);
    clock.advance(5_000); // past A's point (+3_313.5 s), before B's (+3_408 s)
    expect(await b.cache.getToken('api')).toBe(t1);
    expect(b.cache.stats().refreshesAhead).toBe(0);
    expect(await a.cache.getToken('api')).toBe(t1);
    await until(() => b.store.peek('api')?.accessToken !== t1);
    // Counted when A calls the source (after taking the fleet's lock), not when it decides to refresh.
    expect(a.cache.stats().refreshesAhead).toBe(1);
    const t2 = b.store.peek('api')!.accessToken;
    clock.advance(100_000); // past B's point of the old token's window: B holds A's new token, which is not due
    expect(await b.cache.getToken('api')).toBe(t2);
    expect(b.cache.stats().refreshesAhead).toBe(0);
    expect(state.calls).toBe(2);
  });

  it('writes only keys under keyPrefix, hash-tagged per cache key, expiring with the token, and no token in any key', async () => {
    const keyPrefix = uniquePrefix('keys');
    const { source } = countingSource({ expiresIn: 600 });
    const { cache } = instance(source, { keyPrefix });
    const cached = await cache.getCachedToken('api', { subject: 'alice', scopes: ['read'] });
    const keys = await admin.keys(`${keyPrefix}*`);
    expect(keys).toEqual([`${keyPrefix}{api|sub=alice|scope=read}:token`]);
    for (const key of keys) expect(key).not.toContain(cached.accessToken);
    expect(Math.abs((await admin.pexpiretime(keys[0]!)) - cached.expiresAt.getTime())).toBeLessThan(1_000);
    const pttl = await admin.pttl(keys[0]!);
    expect(pttl).toBeGreaterThan(590_000);
    expect(pttl).toBeLessThanOrEqual(600_000);
    // The lock is gone once the token is stored.
    expect(await admin.exists(`${keyPrefix}{api|sub=alice|scope=read}:lock`)).toBe(0);
  });

  it('with encryptionKey: the Redis value is not the token; a wrong key reads as a miss (its own fetch), not a crash', async () => {
    const keyPrefix = uniquePrefix('enc');
    const key = randomBytes(32);
    const { source, state } = countingSource();
    const a = instance(source, { keyPrefix, encryptionKey: key.toString('base64') });
    const b = instance(source, { keyPrefix, encryptionKey: key.toString('hex') });
    const token = await a.cache.getToken('api');
    const raw = await admin.get(`${keyPrefix}{api}:token`);
    expect(raw).toBeTruthy();
    expect(raw).not.toContain(token);
    expect(raw).not.toContain('"accessToken"');
    expect(await b.cache.getToken('api')).toBe(token); // same key, other encoding: shared
    expect(state.calls).toBe(1);

    const wrong = instance(source, { keyPrefix, encryptionKey: randomBytes(32) });
    const plain = instance(source, { keyPrefix });
    expect(await wrong.store.get('api')).toBeUndefined();
    expect(await plain.store.get('api')).toBeUndefined();
    const own = await wrong.cache.getToken('api');
    expect(own).not.toBe(token);
    expect(state.calls).toBe(2);
  });

  it('invalidation by one instance reaches the others within a second; they then use the new token', async () => {
    const keyPrefix = uniquePrefix('inval');
    const { source, state } = countingSource();
    const a = instance(source, { keyPrefix });
    const b = instance(source, { keyPrefix });
    const c = instance(source, { keyPrefix });
    const old = await a.cache.getToken('api');
    expect(await b.cache.getToken('api')).toBe(old);
    expect(await c.cache.getToken('api')).toBe(old);
    const events: TokenStoreEvent[] = [];
    b.store.subscribe((e) => events.push(e));

    expect(await a.cache.invalidate('api', undefined, old)).toBe(true);
    const took = await until(() => b.store.peek('api') === undefined && c.store.peek('api') === undefined, 1_000);
    expect(took).toBeLessThan(1_000);
    expect(events).toContainEqual({ type: 'remote-invalidated', key: 'api' });

    const fresh = await b.cache.getToken('api');
    expect(fresh).not.toBe(old);
    expect(await c.cache.getToken('api')).toBe(fresh);
    expect(await a.cache.getToken('api')).toBe(fresh);
    expect(state.calls).toBe(2);
  });

  it('an invalidation reaches instances holding the token even when Redis no longer has it (evicted by Redis)', async () => {
    const keyPrefix = uniquePrefix('inval-gone');
    const { source } = countingSource();
    const a = instance(source, { keyPrefix });
    const b = instance(source, { keyPrefix });
    const token = await a.cache.getToken('api');
    expect(await b.cache.getToken('api')).toBe(token);
    await admin.del(`${keyPrefix}{api}:token`);
    expect(await a.cache.invalidate('api', undefined, token)).toBe(true);
    await until(() => b.store.peek('api') === undefined, 1_000);
  });

  it('a late compare-and-invalidate of an old token never removes the newer one, here or in other instances', async () => {
    const keyPrefix = uniquePrefix('cas');
    const { source, state } = countingSource();
    const a = instance(source, { keyPrefix });
    const b = instance(source, { keyPrefix });
    const old = await a.cache.getToken('api');
    expect(await b.cache.getToken('api')).toBe(old);
    const newer = await b.cache.refresh('api');
    expect(newer).not.toBe(old);
    // A's memory tier is brought up to date by B's pub/sub message.
    await until(() => a.store.peek('api')?.accessToken === newer, 1_000);

    expect(await a.cache.invalidate('api', undefined, old)).toBe(false);
    expect(await b.cache.invalidate('api', undefined, old)).toBe(false);
    await new Promise((r) => setTimeout(r, 100));
    expect(a.store.peek('api')?.accessToken).toBe(newer);
    expect(b.store.peek('api')?.accessToken).toBe(newer);
    expect(await admin.exists(`${keyPrefix}{api}:token`)).toBe(1);
    expect(await a.cache.getToken('api')).toBe(newer);
    expect(state.calls).toBe(2);
  });

  it('a token stored by another instance with the same receivedAt (one millisecond, or a fake clock) is adopted, not fought over', async () => {
    const keyPrefix = uniquePrefix('tie');
    const { source, state } = countingSource();
    const clock = new FakeClock(Date.now()); // never advanced: every token has the same receivedAt
    const a = instance(source, { keyPrefix }, { clock });
    const b = instance(source, { keyPrefix }, { clock });
    const old = await a.cache.getToken('api');
    expect(await b.cache.getToken('api')).toBe(old);
    const newer = await b.cache.refresh('api');
    await until(() => a.store.peek('api')?.accessToken === newer, 1_000);
    await new Promise((r) => setTimeout(r, 200)); // a push-back of the old token would show here
    expect(a.store.peek('api')?.accessToken).toBe(newer);
    expect(b.store.peek('api')?.accessToken).toBe(newer);
    expect(await admin.get(`${keyPrefix}{api}:token`)).toContain(newer);
    expect(state.calls).toBe(2);
  });

  it('refresh() fetches a new token even when another instance already stored one', async () => {
    const keyPrefix = uniquePrefix('refresh');
    const { source, state } = countingSource();
    const a = instance(source, { keyPrefix });
    const b = instance(source, { keyPrefix });
    const old = await a.cache.getToken('api');
    await new Promise((r) => setTimeout(r, 5)); // a later millisecond than the stored token's receipt
    const fresh = await b.cache.refresh('api');
    expect(fresh).not.toBe(old);
    expect(state.calls).toBe(2);
    await until(() => a.store.peek('api')?.accessToken === fresh, 1_000);
    expect(await a.cache.getToken('api')).toBe(fresh);
  });

  it('a dead lock holder blocks the others no longer than lockTtlMs', async () => {
    const keyPrefix = uniquePrefix('dead');
    const { source, state } = countingSource();
    const { cache } = instance(source, { keyPrefix, lockTtlMs: 400 });
    // An instance that took the lock and died: nobody will release it or publish.
    await admin.set(`${keyPrefix}{api}:lock`, 'dead-holder', 'PX', 400);
    const started = Date.now();
    const token = await cache.getToken('api');
    const waited = Date.now() - started;
    expect(token).toBe(state.issued[0]);
    expect(state.calls).toBe(1);
    expect(waited).toBeGreaterThanOrEqual(250);
    expect(waited).toBeLessThan(1_500);
  });

  it('close() of the instance holding the lock mid-fetch releases it: the others fetch at once, not after lockTtlMs, and fail nothing', async () => {
    const keyPrefix = uniquePrefix('close-holder');
    let calls = 0;
    const source = tokenFunction(async () => {
      calls++;
      // The first fetch (the holder's) is slow; a later one is quick.
      if (calls === 1) await new Promise((r) => setTimeout(r, 3_000).unref());
      return { accessToken: `tok-${calls}-${randomBytes(4).toString('hex')}`, expiresIn: 3600 };
    });
    const a = instance(source, { keyPrefix, lockTtlMs: 10_000 });
    const b = instance(source, { keyPrefix, lockTtlMs: 10_000 });
    const held = a.cache.getToken('api').catch((e: unknown) => e);
    await until(async () => (await admin.exists(`${keyPrefix}{api}:lock`)) === 1);
    const waiting = b.cache.getToken('api');
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await a.cache.close();
    const token = await waiting;
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(token).toMatch(/^tok-2-/);
    expect(await held).toMatchObject({ name: 'TokenFetchError' });
    expect(calls).toBe(2);
  });

  it('a holder renews its lock while it fetches: a fetch longer than lockTtlMs keeps it, the others wait, one fetch', async () => {
    const keyPrefix = uniquePrefix('renew');
    const { source, state } = countingSource({ delayMs: 800 });
    const a = instance(source, { keyPrefix, lockTtlMs: 150 });
    const b = instance(source, { keyPrefix, lockTtlMs: 150 });
    const first = a.cache.getToken('api');
    await until(async () => (await admin.exists(`${keyPrefix}{api}:lock`)) === 1);
    const second = b.cache.getToken('api');
    const ttls: number[] = [];
    for (let i = 0; i < 10; i++) {
      ttls.push(await admin.pttl(`${keyPrefix}{api}:lock`));
      await new Promise((r) => setTimeout(r, 50));
    }
    // Renewed every ~50 ms: never expired during the 800 ms fetch.
    expect(ttls.every((ttl) => ttl > 0 && ttl <= 150)).toBe(true);
    expect(await second).toBe(await first);
    expect(state.calls).toBe(1);
    expect(await admin.exists(`${keyPrefix}{api}:lock`)).toBe(0);
  });

  it('only the holder releases the lock: a holder whose lock was lost stops renewing and leaves the next holder’s lock alone', async () => {
    const keyPrefix = uniquePrefix('owner');
    const slow = countingSource({ delayMs: 1_000 });
    const slower = countingSource({ delayMs: 1_500 });
    const a = instance(slow.source, { keyPrefix, lockTtlMs: 150 });
    const b = instance(slower.source, { keyPrefix, lockTtlMs: 5_000 });
    const first = a.cache.getToken('api');
    await until(async () => (await admin.exists(`${keyPrefix}{api}:lock`)) === 1);
    // A's lock is lost during its slow fetch (as after a long Redis stall); B then takes a lock of its own.
    await admin.del(`${keyPrefix}{api}:lock`);
    const second = b.cache.getToken('api');
    await until(async () => (await admin.exists(`${keyPrefix}{api}:lock`)) === 1);
    const bLock = await admin.get(`${keyPrefix}{api}:lock`);
    await new Promise((r) => setTimeout(r, 200));
    // A's renewals did not touch B's lock (B's TTL is its own 5 s, not A's 150 ms).
    expect(await admin.pttl(`${keyPrefix}{api}:lock`)).toBeGreaterThan(4_000);
    await first;
    // A is done and stored its token, but B's lock is still B's.
    expect(await admin.get(`${keyPrefix}{api}:lock`)).toBe(bLock);
    await second;
    expect(await admin.exists(`${keyPrefix}{api}:lock`)).toBe(0);
    expect(slow.state.calls + slower.state.calls).toBe(2);
  });

  it('a failed fetch fails its waiters at once (no turn of their own at the failing endpoint) and frees the lock', async () => {
    const keyPrefix = uniquePrefix('fail');
    let calls = 0;
    const flaky = tokenFunction(async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 100));
      if (calls === 1) throw new Error('idp down');
      return { accessToken: `ok-${randomBytes(4).toString('hex')}`, expiresIn: 3600 };
    });
    // The caches' clock (their backoff) moves without sleeping; Redis and the lock run on real time.
    const clock = new FakeClock(Date.now());
    const a = instance(flaky, { keyPrefix, lockTtlMs: 10_000 }, { clock });
    const b = instance(flaky, { keyPrefix, lockTtlMs: 10_000 }, { clock });
    // Both connected first: on a loaded machine B could otherwise reach Redis before A and hold the lock.
    await until(() => a.store.reachable && b.store.reachable);
    await Promise.all([a.store.get('warm-up'), b.store.get('warm-up')]);
    const started = Date.now();
    const results = await Promise.allSettled([a.cache.getToken('api'), new Promise((r) => setTimeout(r, 20)).then(() => b.cache.getToken('api'))]);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    const waiterError = (results[1] as PromiseRejectedResult).reason as Error;
    expect(waiterError).toBeInstanceOf(TokenFetchError);
    expect(waiterError.message).toMatch(/Another instance/);
    expect(calls).toBe(1);
    // Nobody holds the lock: at most a short-lived failure marker, which a new caller takes over.
    expect((await admin.get(`${keyPrefix}{api}:lock`)) ?? '').toMatch(/^(fail:|$)/);

    // After the cache's backoff the next try fetches at once, and both share the result.
    clock.advance(60_000);
    const token = await b.cache.getToken('api');
    expect(await a.cache.getToken('api')).toBe(token);
    expect(calls).toBe(2);
  });

  it('IdP outage: instances do not take turns at a failing fetch; each caller fails within the fetch timeout', async () => {
    const keyPrefix = uniquePrefix('idp-down');
    let calls = 0;
    const failing = tokenFunction(async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 200));
      throw new Error('idp down');
    });
    const clock = new FakeClock(Date.now());
    const instances = [0, 1, 2].map(() => instance(failing, { keyPrefix }, { clock, fetchTimeoutMs: 1_000 }));
    const rounds = 4;
    for (let round = 0; round < rounds; round++) {
      const started = Date.now();
      const results = await Promise.allSettled(
        instances.map(({ cache }) =>
          cache.getToken('api').finally(() => {
            expect(Date.now() - started).toBeLessThan(1_000);
          }),
        ),
      );
      for (const result of results) {
        expect(result.status).toBe('rejected');
        expect((result as PromiseRejectedResult).reason).toBeInstanceOf(TokenFetchError);
      }
      clock.advance(60_000); // past every instance's backoff: the next round tries again
    }
    // One fetch per round, not one per instance per round.
    expect(calls).toBe(rounds);
  });

  /** A token source that answers only when the test says so. */
  function gatedSource() {
    const state = { calls: 0, issued: [] as string[], release: [] as (() => void)[] };
    const source = tokenFunction(async () => {
      state.calls++;
      const accessToken = `gated-${state.calls}-${randomBytes(6).toString('hex')}`;
      state.issued.push(accessToken);
      await new Promise<void>((resolve) => state.release.push(resolve));
      return { accessToken, expiresIn: 3600 };
    });
    return { source, state };
  }

  it('clear() during a fetch: the caller gets the token, but neither tier keeps it and another instance fetches anew', async () => {
    const keyPrefix = uniquePrefix('clear');
    const { source, state } = gatedSource();
    const a = instance(source, { keyPrefix });
    const b = instance(source, { keyPrefix });
    const pending = a.cache.getToken('api');
    await until(() => state.calls === 1);
    expect(await admin.exists(`${keyPrefix}{api}:lock`)).toBe(1);
    await a.cache.clear();
    state.release.shift()!();
    expect(await pending).toBe(state.issued[0]);
    expect(a.store.peek('api')).toBeUndefined();
    expect(await admin.exists(`${keyPrefix}{api}:token`)).toBe(0);
    expect(await admin.exists(`${keyPrefix}{api}:lock`)).toBe(0);

    const second = b.cache.getToken('api');
    await until(() => state.calls === 2);
    state.release.shift()!();
    expect(await second).toBe(state.issued[1]);
    expect(state.issued[1]).not.toBe(state.issued[0]);
  });

  it('clear() during a local fetch (Redis unreachable) stores nothing either', async () => {
    const proxy = await RedisProxy.start(TEST_REDIS_URL);
    closers.push(() => proxy.close());
    const keyPrefix = uniquePrefix('clear-local');
    const { source, state } = gatedSource();
    const a = instance(source, { url: proxy.url, keyPrefix });
    await until(() => a.store.reachable);
    proxy.cut();
    await until(() => !a.store.reachable);
    const pending = a.cache.getToken('api');
    await until(() => state.calls === 1);
    await a.cache.clear();
    state.release.shift()!();
    expect(await pending).toBe(state.issued[0]);
    expect(a.store.peek('api')).toBeUndefined();
  });

  it('close() while callers wait for another instance’s fetch: they reject with a TokenFetchError, none calls the token endpoint', async () => {
    const keyPrefix = uniquePrefix('close-wait');
    const { source, state } = gatedSource();
    const a = instance(source, { keyPrefix });
    const b = instance(source, { keyPrefix });
    const holder = a.cache.getToken('api');
    await until(() => state.calls === 1);
    const waiting = b.cache.getToken('api');
    const outcome = waiting.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await new Promise((r) => setTimeout(r, 150)); // b is in its wait loop (it polls every 100 ms)
    await b.store.close();
    const error = await outcome;
    expect(error).toBeInstanceOf(TokenFetchError);
    expect((error as Error).message).toMatch(/closed/);
    state.release.shift()!();
    expect(await holder).toBe(state.issued[0]);
    await new Promise((r) => setTimeout(r, 50));
    expect(state.calls).toBe(1);
  });

  it('a warm getToken sends no Redis command', async () => {
    const keyPrefix = uniquePrefix('warm');
    const { source } = countingSource();
    const { cache } = instance(source, { keyPrefix });
    await cache.getToken('api');
    await new Promise((r) => setTimeout(r, 50));
    let commands = 0;
    const channel = tracingChannel('ioredis:command');
    const handlers = { start: () => void commands++, end() {}, asyncStart() {}, asyncEnd() {}, error() {} };
    channel.subscribe(handlers);
    try {
      for (let i = 0; i < 5_000; i++) await cache.getToken('api');
      // The hook sees commands: prove it with one.
      expect(commands).toBe(0);
      await admin.ping();
      expect(commands).toBe(1);
    } finally {
      channel.unsubscribe(handlers);
    }
  });

  it('emits evicted for LRU evictions of its bounded memory tier', async () => {
    const keyPrefix = uniquePrefix('evict');
    const { source } = countingSource();
    const { cache, store } = instance(source, { keyPrefix, maxEntries: 2 });
    const events: string[] = [];
    cache.events$.subscribe((e) => events.push(e.type));
    await cache.getToken('api', { subject: '1' });
    await cache.getToken('api', { subject: '2' });
    await cache.getToken('api', { subject: '3' });
    expect(store.size).toBe(2);
    expect(cache.stats().evictions).toBe(1);
    expect(events.filter((t) => t === 'evicted')).toHaveLength(1);
    // Evicted from memory, still in Redis: read back through without a fetch.
    expect((await store.get('api|sub=1'))?.source).toBe('api');
  });

  it('close(): a client passed in stays open; the store’s own connections close, leaving no handles', async () => {
    const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    const client = new Redis(TEST_REDIS_URL);
    const listeners = () => client.eventNames().reduce((n, e) => n + client.listenerCount(e), 0);
    await until(() => client.status === 'ready');
    const listenersBefore = listeners();
    const shared = new RedisTokenStore({ client, keyPrefix: uniquePrefix('close') });
    await until(() => shared.reachable);
    await shared.close();
    expect(client.status).toBe('ready');
    expect(listeners()).toBe(listenersBefore); // nothing of the store left on the user's client
    expect(await client.ping()).toBe('PONG');
    expect(shared.reachable).toBe(false);
    await client.quit();

    // Sockets of earlier tests may still be closing: start from a settled count.
    let before = sockets();
    await until(async () => {
      await new Promise((r) => setTimeout(r, 100));
      const now = sockets();
      const settled = now === before;
      before = now;
      return settled;
    });
    const own = new RedisTokenStore({ url: TEST_REDIS_URL, keyPrefix: uniquePrefix('close') });
    await until(() => own.reachable);
    expect(sockets()).toBeGreaterThanOrEqual(before + 2);
    await own.close();
    await until(() => sockets() <= before, 2_000);
  });

  it('close() before a passed-in client is ready leaves none of the store’s listeners on it', async () => {
    // A server that accepts and never answers: the client stays connecting, no ready/error/end comes.
    const silent = await RedisProxy.start(TEST_REDIS_URL, { silent: true });
    closers.push(() => silent.close());
    const client = new Redis(silent.url, { retryStrategy: () => null });
    client.on('error', () => undefined);
    closers.push(async () => client.disconnect());
    const counts = () => (['ready', 'error', 'end'] as const).map((event) => client.listenerCount(event));
    const before = counts();
    const store = new RedisTokenStore({ client, keyPrefix: uniquePrefix('listeners') });
    expect(counts()).not.toEqual(before); // the store does listen while it waits
    await store.close();
    expect(client.status).not.toBe('ready');
    expect(counts()).toEqual(before);
  });

  it('an invalidation missed while only the command connection was down reaches Redis and the others when it is back', async () => {
    const keyPrefix = uniquePrefix('cmd-down');
    const { source, state } = countingSource();
    // A client of the user's that reconnects after 300 ms: long enough to invalidate while it is away.
    const client = new Redis(TEST_REDIS_URL, { retryStrategy: () => 300 });
    client.on('error', () => undefined);
    closers.push(() => client.quit().catch(() => undefined));
    const storeA = new RedisTokenStore({ client, keyPrefix });
    const a = new TokenCache({ sources: { api: source }, store: storeA });
    closers.push(() => a.close());
    const b = instance(source, { keyPrefix });
    const t1 = await a.getToken('api');
    expect(await b.cache.getToken('api')).toBe(t1);

    await admin.client('KILL', 'ID', String(await client.client('ID'))); // the subscriber stays connected
    await until(() => !storeA.reachable);
    expect(await a.invalidate('api', undefined, t1)).toBe(true);
    expect(await admin.get(`${keyPrefix}{api}:token`)).toContain(t1);
    await until(() => storeA.reachable, 5_000);
    await until(async () => b.store.peek('api') === undefined && (await admin.exists(`${keyPrefix}{api}:token`)) === 0, 2_000);
    expect(state.calls).toBe(1);
  });

  it('subscribes once per reconnect (not once by ioredis and once by the store)', async () => {
    const proxy = await RedisProxy.start(TEST_REDIS_URL);
    closers.push(() => proxy.close());
    const keyPrefix = uniquePrefix('resub');
    const store = new RedisTokenStore({ url: proxy.url, keyPrefix });
    closers.push(() => store.close());
    await until(() => store.reachable);
    const monitor = await admin.monitor();
    closers.push(async () => monitor.disconnect());
    let subscribes = 0;
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (String(args[0]).toLowerCase() === 'subscribe' && args.includes(`${keyPrefix}events`)) subscribes++;
    });
    proxy.cut();
    await until(() => !store.reachable);
    proxy.restore();
    await until(() => store.reachable && subscribes > 0, 10_000);
    await new Promise((r) => setTimeout(r, 300)); // a second SUBSCRIBE would show here
    expect(subscribes).toBe(1);
  });

  it('works with a client passed in (and its own duplicate subscriber)', async () => {
    const keyPrefix = uniquePrefix('client');
    const client = new Redis(TEST_REDIS_URL);
    closers.push(() => client.quit());
    const { source, state } = countingSource();
    const storeA = new RedisTokenStore({ client, keyPrefix });
    const a = new TokenCache({ sources: { api: source }, store: storeA });
    closers.push(() => a.close());
    const b = instance(source, { keyPrefix });
    const token = await a.getToken('api');
    expect(await b.cache.getToken('api')).toBe(token);
    await b.cache.invalidate('api', undefined, token);
    await until(() => storeA.peek('api') === undefined, 1_000);
    expect(state.calls).toBe(1);
  });

  /** Two instances reaching the dev Redis through a proxy that can cut the link (Redis keeps its keys and run_id). */
  async function behindProxy(name: string) {
    const proxy = await RedisProxy.start(TEST_REDIS_URL);
    closers.push(() => proxy.close());
    const keyPrefix = uniquePrefix(name);
    const { source, state } = countingSource();
    const a = instance(source, { url: proxy.url, keyPrefix });
    const b = instance(source, { url: proxy.url, keyPrefix });
    const plainValue = async () => (await admin.get(`${keyPrefix}{api}:token`)) ?? '';
    return { proxy, a, b, state, plainValue };
  }

  it('a token revoked during an outage does not come back when the link returns: the newer token wins everywhere', async () => {
    const { proxy, a, b, state, plainValue } = await behindProxy('outage-newer');
    const t1 = await a.cache.getToken('api');
    expect(await b.cache.getToken('api')).toBe(t1);

    proxy.cut();
    await until(() => !a.store.reachable && !b.store.reachable);
    // A gets a 401 for T1: dropped here, but Redis can't hear it; A's new token can't be written there either.
    expect(await a.cache.invalidate('api', undefined, t1)).toBe(true);
    const t2 = await a.cache.getToken('api');
    expect(t2).not.toBe(t1);
    expect(await plainValue()).toContain(t1);

    proxy.restore();
    await until(() => a.store.reachable && b.store.reachable, 10_000);
    // The missed invalidation reaches B, and A shares the token it fetched meanwhile.
    await until(async () => (await plainValue()).includes(t2) && b.store.peek('api')?.accessToken !== t1, 5_000);
    await new Promise((r) => setTimeout(r, 200)); // any late message would show here
    expect(a.store.peek('api')?.accessToken).toBe(t2);
    expect([undefined, t2]).toContain(b.store.peek('api')?.accessToken);
    expect(await plainValue()).toContain(t2);
    expect(await a.cache.getToken('api')).toBe(t2);
    expect(await b.cache.getToken('api')).toBe(t2);
    expect(state.calls).toBe(2);
  });

  it('a token refreshed during an outage is not replaced by the older one Redis still holds: it is shared instead', async () => {
    const { proxy, a, b, state, plainValue } = await behindProxy('outage-refresh');
    const t1 = await a.cache.getToken('api');
    expect(await b.cache.getToken('api')).toBe(t1);

    proxy.cut();
    await until(() => !a.store.reachable && !b.store.reachable);
    await new Promise((r) => setTimeout(r, 5)); // a later millisecond than T1's receipt
    const t2 = await a.cache.refresh('api');
    expect(t2).not.toBe(t1);
    expect(await plainValue()).toContain(t1);

    proxy.restore();
    await until(() => a.store.reachable && b.store.reachable, 10_000);
    await until(async () => (await plainValue()).includes(t2) && b.store.peek('api')?.accessToken === t2, 5_000);
    await new Promise((r) => setTimeout(r, 200)); // any late message would show here
    expect(a.store.peek('api')?.accessToken).toBe(t2);
    expect(b.store.peek('api')?.accessToken).toBe(t2);
    expect(await plainValue()).toContain(t2);
    expect(await a.cache.getToken('api')).toBe(t2);
    expect(state.calls).toBe(2);
  });

  it('a token revoked during an outage is not read back from Redis, and the missed invalidation reaches the others', async () => {
    const { proxy, a, b, state, plainValue } = await behindProxy('outage-revoked');
    const t1 = await a.cache.getToken('api');
    expect(await b.cache.getToken('api')).toBe(t1);

    proxy.cut();
    await until(() => !a.store.reachable && !b.store.reachable);
    expect(await a.cache.invalidate('api', undefined, t1)).toBe(true);
    proxy.restore();
    await until(() => a.store.reachable, 10_000);
    // Redis may still hold T1 here: A must fetch anew instead of taking it.
    const t2 = await a.cache.getToken('api');
    expect(t2).not.toBe(t1);
    await until(() => b.store.peek('api')?.accessToken !== t1, 5_000);
    expect(await b.cache.getToken('api')).toBe(t2);
    expect(await plainValue()).toContain(t2);
    expect(state.calls).toBe(2);
  });

  it('Redis down: no call fails, reachable is false; it reconnects by itself and shares again', async () => {
    const server = await PrivateRedisServer.start();
    closers.push(() => server.stop());
    const keyPrefix = uniquePrefix('down');
    const { source, state } = countingSource();
    const a = instance(source, { url: server.url, keyPrefix });
    const b = instance(source, { url: server.url, keyPrefix });
    const warm = await a.cache.getToken('api');
    expect(await b.cache.getToken('api')).toBe(warm);
    expect(state.calls).toBe(1);

    await server.stop();
    await until(() => !a.store.reachable && !b.store.reachable);
    const started = Date.now();
    expect(await a.cache.getToken('api')).toBe(warm); // memory tier
    const coldA = await a.cache.getToken('api', { subject: 'cold' }); // local fetch
    const coldB = await b.cache.getToken('api', { subject: 'cold' });
    expect(coldA).not.toBe(coldB); // each on its own while Redis is away
    expect(await a.cache.invalidate('api', undefined, warm)).toBe(true);
    await a.store.set('x', { ...a.store.peek('api|sub=cold')! } as StoredToken);
    expect(Date.now() - started).toBeLessThan(1_000); // nothing waited on Redis
    expect(state.calls).toBe(3);

    expect(await server.startProcess()).toBe(true);
    await until(() => a.store.reachable && b.store.reachable, 10_000);
    const [x, y] = await Promise.all([a.cache.getToken('api', { subject: 'after' }), b.cache.getToken('api', { subject: 'after' })]);
    expect(x).toBe(y);
    expect(state.calls).toBe(4);
    // Redis restarted empty: the tokens each instance fetched on its own are shared again, and converge on one.
    await until(() => a.store.peek('api|sub=cold')?.accessToken === b.store.peek('api|sub=cold')?.accessToken, 5_000);
    expect([coldA, coldB]).toContain(await a.cache.getToken('api', { subject: 'cold' }));
    expect(state.calls).toBe(4);
  });
});
