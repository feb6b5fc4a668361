import { describe, expect, it, vi } from 'vitest';
import { TokenCacheConfigError } from '../token-cache.errors.js';
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

/** A shared store's `exclusive` in memory: one lock per name, one slot per name (what Redis gives a fleet). */
function sharedStore() {
  const tails = new Map<string, Promise<unknown>>();
  const values = new Map<string, string>();
  const exclusive = <T>(name: string, run: (slot: SharedSecretSlot) => Promise<T>, _options: ExclusiveOptions): Promise<T> => {
    const slot: SharedSecretSlot = { read: async () => values.get(name), write: async (v) => void values.set(name, v) };
    const result = (tails.get(name) ?? Promise.resolve()).then(() => run(slot));
    tails.set(name, result.catch(() => undefined));
    return result;
  };
  return { shared: { exclusive }, values };
}

const ctx = (shared?: TokenFetchContext['shared']): TokenFetchContext => ({ signal: new AbortController().signal, clock: new FakeClock(), ...(shared && { shared }) });

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
});
