import { afterEach, describe, expect, it, vi } from 'vitest';
import { TokenCacheConfigError, TokenFetchError } from '../token-cache.errors.js';
import type { TokenRequest } from '../token-cache.types.js';
import type { ExclusiveOptions, SharedSecretSlot } from '../token-store.interface.js';
import { FakeClock } from '../testing/fake-clock.js';
import { RefreshTokenRotation, type RefreshTokenOption, type RefreshTokenRotatedCallback } from './refresh-token-rotation.js';
import type { TokenFetchContext } from './token-source.interface.js';

/** A rotating IdP with reuse detection, as a function: a spent refresh token revokes its family. */
function rotatingIdp(delayMs = 5) {
  const live = new Set<string>();
  const revoked: string[] = [];
  let n = 0;
  let inFlight = 0;
  let maxInFlightPerToken = 0;
  const spending = new Map<string, number>();
  return {
    issue(prefix: string) {
      const rt = `${prefix}-rt-${++n}`;
      live.add(rt);
      return rt;
    },
    revoked,
    get maxInFlightPerToken() {
      return maxInFlightPerToken;
    },
    async spend(rt: string): Promise<{ result: string; next?: string }> {
      spending.set(rt, (spending.get(rt) ?? 0) + 1);
      maxInFlightPerToken = Math.max(maxInFlightPerToken, spending.get(rt)!);
      inFlight++;
      await new Promise((r) => setTimeout(r, delayMs));
      inFlight--;
      spending.set(rt, spending.get(rt)! - 1);
      if (!live.delete(rt)) {
        revoked.push(rt);
        throw new Error('invalid_grant');
      }
      const next = `${rt.split('-rt-')[0]}-rt-${++n}`;
      live.add(next);
      return { result: `at-for-${rt}`, next };
    },
  };
}

/**
 * A shared store's `exclusive` in memory: one lock per name, one slot per name (what Redis gives a fleet).
 * `down` makes it unreachable (no lock: exclusive rejects); `dropWrites` makes it take the lock and reads but
 * lose writes (a store failing mid-spend); `values.clear()` is a store that restarted empty.
 */
function sharedStore(settleMs = 30_000, values = new Map<string, string>()) {
  const tails = new Map<string, Promise<unknown>>();
  const state = { down: false, dropWrites: false };
  const exclusive = <T>(name: string, run: (slot: SharedSecretSlot) => Promise<T>, _options: ExclusiveOptions): Promise<T> => {
    if (state.down) return Promise.reject(new TokenFetchError('store unreachable', { retryable: true }));
    const slot: SharedSecretSlot = {
      settleMs,
      read: async () => values.get(name),
      write: async (v) => {
        if (state.dropWrites || state.down) return false;
        values.set(name, v);
        return true;
      },
    };
    const result = (tails.get(name) ?? Promise.resolve()).then(() => run(slot));
    tails.set(name, result.catch(() => undefined));
    return result;
  };
  return { shared: { exclusive }, values, state };
}

const ctx = (shared?: TokenFetchContext['shared'], clock = new FakeClock()): TokenFetchContext => ({ signal: new AbortController().signal, clock, ...(shared && { shared }) });

function rotation(refreshToken: RefreshTokenOption, onRotated?: RefreshTokenRotatedCallback) {
  return new RefreshTokenRotation({
    refreshToken,
    onRotated,
    logger: { warn: vi.fn() },
    timeoutMs: 1_000,
    check: (value: unknown): asserts value is string => {
      if (typeof value !== 'string' || value === '') throw new TokenCacheConfigError('refreshTokenGrant.refreshToken', 'bad');
    },
  });
}

type RotatingIdp = ReturnType<typeof rotatingIdp>;

describe('RefreshTokenRotation, refresh token per user (a function of the request)', () => {
  it('concurrent refreshes of one user spend each token once, in turn; other users run alongside; onRotated gets the request', async () => {
    const idp = rotatingIdp();
    const db = new Map([
      ['alice', idp.issue('alice')],
      ['bob', idp.issue('bob')],
    ]);
    const saved: [string, string | undefined][] = [];
    const r = rotation(
      async ({ subject }) => db.get(subject!)!,
      async (rt, request) => {
        await new Promise((res) => setTimeout(res, 3));
        db.set(request.subject!, rt);
        saved.push([rt, request.subject]);
      },
    );
    const calls = ['alice', 'bob'].flatMap((subject) =>
      Array.from({ length: 5 }, (_, i) => r.run({ source: 'user', subject, scopes: [`s${i}`] }, ctx(), (rt) => idp.spend(rt))),
    );
    const results = await Promise.all(calls);
    expect(idp.revoked).toEqual([]);
    expect(idp.maxInFlightPerToken).toBe(1);
    expect(new Set(results).size).toBe(10);
    expect(saved.filter(([, s]) => s === 'alice')).toHaveLength(5);
    expect(saved.every(([rt, s]) => rt.startsWith(`${s}-rt-`))).toBe(true);
    expect(r.secrets()).toEqual(expect.arrayContaining([db.get('alice'), db.get('bob')]));
  });

  it('two instances (two rotations) sharing a store never spend one user’s token twice', async () => {
    const idp = rotatingIdp();
    const db = new Map([['alice', idp.issue('alice')]]);
    const { shared } = sharedStore();
    const load = async ({ subject }: TokenRequest) => db.get(subject!)!;
    const save = async (rt: string, { subject }: TokenRequest) => void db.set(subject!, rt);
    const a = rotation(load, save);
    const b = rotation(load, save);
    const calls = Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).run({ source: 'user', subject: 'alice' }, ctx(shared), (rt) => idp.spend(rt)));
    await Promise.all(calls);
    expect(idp.revoked).toEqual([]);
    expect(idp.maxInFlightPerToken).toBe(1);
  });

  it('a function returning no usable refresh token is a TokenCacheConfigError, and nothing is spent', async () => {
    const idp = rotatingIdp();
    const r = rotation(() => undefined as unknown as string);
    const spend = vi.fn((rt: string) => idp.spend(rt));
    await expect(r.run({ source: 'user', subject: 'nobody' }, ctx(), spend)).rejects.toBeInstanceOf(TokenCacheConfigError);
    expect(spend).not.toHaveBeenCalled();
  });
});

describe('RefreshTokenRotation, one refresh token for the fleet (a string)', () => {
  it('instances sharing a store spend the family’s newest token in turn; the shared value is sealed', async () => {
    const idp = rotatingIdp();
    const initial = idp.issue('svc');
    const { shared, values } = sharedStore();
    const rotated: string[] = [];
    const a = rotation(initial, (rt) => void rotated.push(rt));
    const b = rotation(initial, (rt) => void rotated.push(rt));
    for (let i = 0; i < 5; i++) {
      await Promise.all([a.run({ source: 's' }, ctx(shared), (rt) => idp.spend(rt)), b.run({ source: 's' }, ctx(shared), (rt) => idp.spend(rt))]);
    }
    expect(idp.revoked).toEqual([]);
    expect(rotated).toHaveLength(10);
    const stored = [...values.values()];
    expect(stored).toHaveLength(1);
    for (const rt of [initial, ...rotated]) {
      for (const form of [rt, Buffer.from(rt).toString('base64'), Buffer.from(rt).toString('base64url')]) expect(stored[0]).not.toContain(form);
    }
  });

  it('without a shared store, two instances with one refresh token would revoke the family (what sharing prevents)', async () => {
    const idp = rotatingIdp();
    const initial = idp.issue('svc');
    const a = rotation(initial);
    const b = rotation(initial);
    await a.run({ source: 's' }, ctx(), (rt) => idp.spend(rt));
    await expect(b.run({ source: 's' }, ctx(), (rt) => idp.spend(rt))).rejects.toThrow('invalid_grant');
  });

  it('a shared value sealed for another refresh token family is ignored', async () => {
    const idp = rotatingIdp();
    const { shared, values } = sharedStore();
    const other = rotation(idp.issue('other'));
    await other.run({ source: 's' }, ctx(shared), (rt) => idp.spend(rt));
    const initial = idp.issue('svc');
    const r = rotation(initial);
    // Plant the other family's sealed value under this family's name: it can't be opened, so ours is used.
    const [ourName] = await new Promise<string[]>((resolve) => {
      const probe = { exclusive: async <T>(name: string) => (resolve([name]), undefined as T) };
      // (the probe's run never spends)
      void r.run({ source: 's' }, ctx(probe as never), (rt) => idp.spend(rt));
    });
    values.set(ourName!, [...values.values()][0]!);
    await r.run({ source: 's' }, ctx(shared), (rt) => idp.spend(rt));
    expect(idp.revoked).toEqual([]);
  });
});

describe('RefreshTokenRotation, when the app could not persist a rotation', () => {
  it('a function still returning a token this process spent gets its replacement spent instead (no invalid_grant)', async () => {
    const idp = rotatingIdp();
    const stored = idp.issue('alice'); // the app's database never gets updated: onRotated fails
    const r = rotation(
      () => stored,
      () => {
        throw new Error('database down');
      },
    );
    for (let i = 0; i < 3; i++) await r.run({ source: 'user', subject: 'alice' }, ctx(), (rt) => idp.spend(rt));
    expect(idp.revoked).toEqual([]);
  });

  it('the failure is reported through the source\'s logger, else the cache\'s (the context\'s), never with a token', async () => {
    for (const form of ['function', 'string'] as const) {
      const idp = rotatingIdp();
      const first = idp.issue('alice');
      const fails = () => {
        throw new Error(`cannot save ${first}`);
      };
      const make = (logger?: { warn: (m: string) => void }) =>
        new RefreshTokenRotation({
          refreshToken: form === 'function' ? () => first : first,
          onRotated: fails,
          ...(logger && { logger }),
          timeoutMs: 1_000,
          check: (value: unknown): asserts value is string => {
            if (typeof value !== 'string') throw new TokenCacheConfigError('x', 'bad');
          },
        });
      const cacheLogger = { warn: vi.fn() };
      await make().run({ source: 'r' }, { ...ctx(), logger: { ...cacheLogger, error: vi.fn() } }, (rt) => idp.spend(rt));
      expect(cacheLogger.warn).toHaveBeenCalledTimes(1);
      expect(cacheLogger.warn.mock.calls[0]![0]).toMatch(/^Source "r": "onRefreshTokenRotated" failed \(Error: cannot save \[redacted\]\)/);
      const own = { warn: vi.fn() };
      const idp2 = rotatingIdp();
      const cacheLogger2 = { warn: vi.fn(), error: vi.fn() };
      await new RefreshTokenRotation({ refreshToken: idp2.issue('bob'), onRotated: fails, logger: own, timeoutMs: 1_000, check: () => undefined }).run(
        { source: 'r' },
        { ...ctx(), logger: cacheLogger2 },
        (rt) => idp2.spend(rt),
      );
      expect(own.warn).toHaveBeenCalledTimes(1);
      expect(cacheLogger2.warn).not.toHaveBeenCalled();
    }
  });
});

describe('RefreshTokenRotation, one refresh token for the fleet, when the shared store fails', () => {
  const rotations: RefreshTokenRotation[] = [];
  const make = (rt: RefreshTokenOption) => {
    const r = rotation(rt);
    rotations.push(r);
    return r;
  };
  afterEach(() => {
    for (const r of rotations.splice(0)) r.close();
  });

  it.each([
    { kind: 'one token for the fleet', params: { source: 'svc' }, option: (idp: RotatingIdp): RefreshTokenOption => idp.issue('svc') },
    {
      kind: 'per user',
      params: { source: 'user', subject: 'alice' },
      option: (idp: RotatingIdp): RefreshTokenOption => {
        const rt = idp.issue('alice');
        return () => rt;
      },
    },
  ])('no lock (store unreachable), $kind: nothing is sent, the fetch fails with a TokenFetchError naming the source and the cause', async ({ params, option }) => {
    const idp = rotatingIdp();
    const { shared, state } = sharedStore();
    const r = make(option(idp));
    state.down = true;
    const spend = vi.fn((rt: string) => idp.spend(rt));
    const error = await r.run(params, ctx(shared), spend).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenFetchError);
    expect((error as TokenFetchError).retryable).toBe(true);
    expect((error as TokenFetchError).source).toBe(params.source);
    expect((error as Error).message).toMatch(new RegExp(`source "${params.source}" was not attempted: the fleet-wide lock .* could not be taken \\(store unreachable\\).*Nothing was sent`));
    expect(spend).not.toHaveBeenCalled();
    state.down = false;
    await expect(r.run(params, ctx(shared), spend)).resolves.toBeTruthy();
    expect(idp.revoked).toEqual([]);
  });

  it('the rotated token could not be shared (store failed mid-spend): no other instance spends the marked one; once re-shared, the newest is spent', async () => {
    const idp = rotatingIdp();
    const initial = idp.issue('svc');
    const { shared, state } = sharedStore();
    const clock = new FakeClock();
    const a = make(initial);
    const b = make(initial);
    await a.run({ source: 'svc' }, ctx(shared, clock), (rt) => idp.spend(rt));
    // A spends again, but the store loses every write after A marked the token as being spent.
    let marked = false;
    await a.run({ source: 'svc' }, ctx(shared, clock), (rt) => {
      marked = true;
      state.dropWrites = true;
      return idp.spend(rt);
    });
    expect(marked).toBe(true);
    state.dropWrites = false;
    // B finds the token marked as being spent by A: it does not spend it (it would be reused: invalid_grant).
    const spendB = vi.fn((rt: string) => idp.spend(rt));
    await expect(b.run({ source: 'svc' }, ctx(shared, clock), spendB)).rejects.toThrow(/another instance spent the shared refresh token/);
    expect(spendB).not.toHaveBeenCalled();
    // A shares its newest (its next sync); B then spends that one.
    await a.run({ source: 'svc' }, ctx(shared, clock), (rt) => idp.spend(rt));
    await b.run({ source: 'svc' }, ctx(shared, clock), (rt) => idp.spend(rt));
    expect(idp.revoked).toEqual([]);
  });

  it('the store restarted empty: instances put back what they hold, wait settleMs, then the newest is spent (0 invalid_grant)', async () => {
    const idp = rotatingIdp();
    const initial = idp.issue('svc');
    const { shared, values } = sharedStore(30_000);
    const clock = new FakeClock();
    const a = make(initial);
    const b = make(initial);
    await b.run({ source: 'svc' }, ctx(shared, clock), (rt) => idp.spend(rt));
    for (let i = 0; i < 3; i++) await a.run({ source: 'svc' }, ctx(shared, clock), (rt) => idp.spend(rt)); // B's copy is now 3 behind
    values.clear();
    const spend = vi.fn((rt: string) => idp.spend(rt));
    // B (stale copy) offers its copy and waits; A offers its newer one (it wins) and waits too.
    await expect(b.run({ source: 'svc' }, ctx(shared, clock), spend)).rejects.toThrow(/lost the fleet's current refresh token/);
    await expect(a.run({ source: 'svc' }, ctx(shared, clock), spend)).rejects.toThrow(/lost the fleet's current refresh token/);
    expect(spend).not.toHaveBeenCalled();
    clock.advance(30_000);
    await b.run({ source: 'svc' }, ctx(shared, clock), spend);
    await a.run({ source: 'svc' }, ctx(shared, clock), spend);
    expect(spend).toHaveBeenCalledTimes(2);
    expect(idp.revoked).toEqual([]);
  });

  it('a holder that marked the token and died: after settleMs without news the marked token is spent (the only one left)', async () => {
    const idp = rotatingIdp();
    const initial = idp.issue('svc');
    const { shared, values } = sharedStore(30_000);
    const clock = new FakeClock();
    const a = make(initial);
    const b = make(initial);
    // A marks the token as being spent and "dies" before sending anything (its spend never returns).
    let marked!: () => void;
    const wasMarked = new Promise<void>((resolve) => (marked = resolve));
    void a.run({ source: 'svc' }, ctx(shared, clock), () => (marked(), new Promise<never>(() => undefined)));
    await wasMarked;
    // A dead holder's lock expires: B sees the same values through a lock of its own.
    const { shared: afterExpiry } = sharedStore(30_000, values);
    const spend = vi.fn((rt: string) => idp.spend(rt));
    await expect(b.run({ source: 'svc' }, ctx(afterExpiry, clock), spend)).rejects.toThrow(/another instance spent the shared refresh token/);
    clock.advance(29_999);
    await expect(b.run({ source: 'svc' }, ctx(afterExpiry, clock), spend)).rejects.toThrow(/another instance spent/);
    clock.advance(1);
    await expect(b.run({ source: 'svc' }, ctx(afterExpiry, clock), spend)).resolves.toBeTruthy();
    expect(spend).toHaveBeenCalledTimes(1);
    expect(idp.revoked).toEqual([]);
  });
});
