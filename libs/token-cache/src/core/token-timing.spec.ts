import { describe, expect, it } from 'vitest';
import { heldToken, nextFetchAt, replyTimes, tokenPhase, tokenTiming, type FetchFailure } from './token-timing.js';

const S = 1_000;
const H = 3_600_000;
const LIFETIMES = [2 * S, 3 * S, 4 * S, 60 * S, H, 24 * H];
const DEFAULTS = { expirySkewMs: 30_000 };
const at = (lifetimeMs: number, extra: { refreshAt?: number; fetchMs?: number } = {}) => ({ receivedAt: 1_000_000, expiresAt: 1_000_000 + lifetimeMs, ...extra });

/** A small seeded generator, so a failing sweep can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('tokenTiming', () => {
  it('applies the skew, at most a tenth of the lifetime', () => {
    expect(tokenTiming(at(2 * S), DEFAULTS)).toMatchObject({ lifetimeMs: 2 * S, skewMs: 200, usableUntil: 1_000_000 + 1_800 });
    expect(tokenTiming(at(60 * S), DEFAULTS).skewMs).toBe(6_000);
    expect(tokenTiming(at(H), DEFAULTS).skewMs).toBe(30_000);
    expect(tokenTiming(at(H), { expirySkewMs: 0 }).usableUntil).toBe(1_000_000 + H);
    // An already expired token (expiresAt before it was received) is never usable, whatever the skew.
    expect(tokenTiming({ receivedAt: 10, expiresAt: 5 }, DEFAULTS)).toMatchObject({ lifetimeMs: 0, skewMs: 0, usableUntil: 5 });
  });

  it.each(LIFETIMES)('places the adaptive window of a %i ms token in [0.8 L, usableUntil), with room for the refresh after it', (lifetime) => {
    const t = tokenTiming(at(lifetime), DEFAULTS);
    const { start, end } = t.refreshWindow!;
    expect(start - 1_000_000).toBeGreaterThanOrEqual(0.8 * lifetime);
    expect(end).toBeGreaterThanOrEqual(start);
    // At least 2.5 % of the lifetime (50 ms for 2 s) is left after the window's end for the refresh to finish.
    expect(t.usableUntil - end).toBeGreaterThanOrEqual(0.025 * lifetime - 1e-6);
  });

  it('starts the adaptive window as late as leaves a twentieth of the lifetime (or 3 p95 fetch times, at least 50 ms each) before usableUntil', () => {
    // 2 s: 3 x 50 ms > L / 20; the end leaves 1.5 x 50 ms.
    expect(tokenTiming(at(2 * S), DEFAULTS).refreshWindow).toEqual({ start: 1_000_000 + 1_650, end: 1_000_000 + 1_725 });
    expect(tokenTiming(at(4 * S), DEFAULTS).refreshWindow).toEqual({ start: 1_000_000 + 3_400, end: 1_000_000 + 3_500 });
    expect(tokenTiming(at(H), DEFAULTS).refreshWindow!.start).toBe(1_000_000 + H - 30_000 - 180_000);
    expect(tokenTiming(at(24 * H), DEFAULTS).refreshWindow!.start).toBe(1_000_000 + 24 * H - 30_000 - 0.05 * 24 * H);
  });

  it('leaves a slow IdP 1.5 p95 fetch times after the window, moving the start towards 0.8 L only as far as that allows', () => {
    // 80 ms: the start waits for 0.8 L; the end leaves 120 ms.
    expect(tokenTiming(at(2 * S, { fetchMs: 80 }), DEFAULTS).refreshWindow).toEqual({ start: 1_000_000 + 1_600, end: 1_000_000 + 1_680 });
    // 300 ms (the tester's 2 s / 300 ms IdP): forced before 0.8 L, 450 ms before usableUntil.
    expect(tokenTiming(at(2 * S, { fetchMs: 300 }), DEFAULTS).refreshWindow).toEqual({ start: 1_000_000 + 1_350, end: 1_000_000 + 1_350 });
    expect(tokenTiming(at(5 * S, { fetchMs: 600 }), DEFAULTS).refreshWindow).toEqual({ start: 1_000_000 + 3_600, end: 1_000_000 + 3_600 });
    // 900 ms for a 2 s token: as early as a refresh may start, a quarter of the lifetime after the fetch.
    expect(tokenTiming(at(2 * S, { fetchMs: 900 }), DEFAULTS).refreshWindow!.start).toBe(1_000_000 + 500);
    expect(tokenTiming(at(H, { fetchMs: 900 }), DEFAULTS).refreshWindow!.start).toBe(1_000_000 + H - 210_000); // 2.7 s < L / 20
    expect(tokenTiming(at(H, { fetchMs: 200_000 }), DEFAULTS).refreshWindow!.start).toBe(1_000_000 + H - 30_000 - 600_000);
  });

  it('starts no refresh sooner than min(1 s, L / 4) after the last fetch (a token handed back unchanged near its end)', () => {
    const reread = { receivedAt: 1_000_000, fetchedAt: 1_000_000 + H - 60_000, expiresAt: 1_000_000 + H };
    expect(tokenTiming(reread, DEFAULTS).refreshWindow!.start).toBe(1_000_000 + H - 59_000);
    expect(tokenTiming({ receivedAt: 0, expiresAt: 1_000, refreshAt: 1 }, DEFAULTS).refreshWindow!.start).toBe(250);
  });

  it('keeps the 0.1 meaning of an explicit refreshBeforeExpiryMs: that long before expiry, capped at half the lifetime', () => {
    expect(tokenTiming(at(H), { ...DEFAULTS, refreshBeforeExpiryMs: 300_000 }).refreshWindow!.start).toBe(1_000_000 + H - 300_000);
    expect(tokenTiming(at(120 * S), { ...DEFAULTS, refreshBeforeExpiryMs: 300_000 }).refreshWindow!.start).toBe(1_000_000 + 60_000);
    expect(tokenTiming(at(H), { ...DEFAULTS, refreshBeforeExpiryMs: 0 }).refreshWindow).toBeUndefined();
    // Set shorter than the skew: refresh-ahead would start after the token stopped being usable, as in 0.1.
    const late = tokenTiming(at(H), { ...DEFAULTS, refreshBeforeExpiryMs: 10_000 });
    expect(late.refreshWindow).toEqual({ start: 1_000_000 + H - 10_000, end: 1_000_000 + H - 10_000 });
  });

  it('moves the window start to receivedAt + refresh_in, within the token life', () => {
    expect(tokenTiming(at(H, { refreshAt: 1_000_000 + H / 2 }), DEFAULTS).refreshWindow!.start).toBe(1_000_000 + H / 2);
    expect(tokenTiming(at(H, { refreshAt: 1_000_000 + H / 2 }), { ...DEFAULTS, refreshBeforeExpiryMs: 60_000 }).refreshWindow!.start).toBe(1_000_000 + H / 2);
    // Past the usable life: as late as still leaves the refresh its room.
    const late = tokenTiming(at(H, { refreshAt: 1_000_000 + 2 * H }), DEFAULTS);
    expect(late.refreshWindow!.start).toBeLessThan(late.usableUntil);
    expect(tokenTiming(at(H, { refreshAt: 0 }), DEFAULTS).refreshWindow!.start).toBe(1_000_000 + 1_000); // not sooner than 1 s
    expect(tokenTiming(at(H, { refreshAt: 1_000_000 + 60_000 }), { ...DEFAULTS, refreshBeforeExpiryMs: 0 }).refreshWindow).toBeUndefined();
  });

  it('serves a token through failures until its expiry less a transit margin of min(1 s, L / 20)', () => {
    expect(tokenTiming(at(4 * S), DEFAULTS).servableUntil).toBe(1_000_000 + 4 * S - 200);
    expect(tokenTiming(at(H), DEFAULTS).servableUntil).toBe(1_000_000 + H - 1_000);
    // Never before usableUntil (a zero skew).
    expect(tokenTiming(at(H), { expirySkewMs: 0 }).servableUntil).toBe(1_000_000 + H);
  });

  it('holds for random lifetimes from 2 s to 24 h, skews, fetch times and refresh_in (property sweep)', () => {
    const random = prng(11);
    for (let i = 0; i < 5_000; i++) {
      const lifetime = Math.round(2 * S * Math.pow((24 * H) / (2 * S), random()));
      const expirySkewMs = Math.round(random() * 120_000);
      const fetchMs = random() < 0.5 ? undefined : Math.round(random() * lifetime * 0.5);
      const refreshAt = random() < 0.2 ? 1_000_000 + Math.round(random() * 2 * lifetime) : undefined;
      const t = tokenTiming(at(lifetime, { fetchMs, refreshAt }), { expirySkewMs });
      const ctx = JSON.stringify({ lifetime, expirySkewMs, fetchMs, refreshAt });
      expect(t.skewMs, ctx).toBeLessThanOrEqual(lifetime / 10 + 1e-6);
      expect(t.usableUntil, ctx).toBeGreaterThanOrEqual(1_000_000 + 0.9 * lifetime - 1e-6);
      expect(t.servableUntil, ctx).toBeGreaterThanOrEqual(t.usableUntil);
      expect(t.servableUntil, ctx).toBeLessThanOrEqual(1_000_000 + lifetime);
      const { start, end } = t.refreshWindow!;
      expect(end, ctx).toBeLessThan(t.usableUntil);
      expect(start, ctx).toBeLessThanOrEqual(end);
      const need = 1.5 * Math.max(50, fetchMs ?? 0);
      if (refreshAt === undefined) {
        // A refresh started anywhere in the window (jitter included) finishes 0.5 p95 fetch times before usableUntil…
        // (unless the fetch is so slow that the refresh would have to start sooner than L / 4 after the last one).
        if (t.usableUntil - 1_000_000 - need >= lifetime / 4) expect(t.usableUntil - end, ctx).toBeGreaterThanOrEqual(need - 1e-6);
        // …and the next token arrives no sooner than 0.8 L after this one (the 1.25 bound) while the fetch takes at
        // most L / 5; the window starts before 0.8 L only when the fetch time forces it.
        if ((fetchMs ?? 0) <= lifetime / 5) expect(start - 1_000_000 + (fetchMs ?? 0), ctx).toBeGreaterThanOrEqual(0.8 * lifetime - 1e-6);
        expect(start - 1_000_000, ctx).toBeGreaterThanOrEqual(Math.min(0.8 * lifetime, t.usableUntil - 1_000_000 - need, lifetime / 4) - 1e-6);
      }
      expect(tokenPhase(t, start), ctx).toBe('refresh-due');
      expect(tokenPhase(t, start - 1), ctx).toBe('fresh');
    }
  });
});

describe('tokenPhase', () => {
  it('names where a token is in its life', () => {
    const t = tokenTiming(at(4 * S), DEFAULTS); // window from 3.4 s, usable until 3.6 s, served while failing until 3.8 s
    expect(tokenPhase(t, 1_000_000)).toBe('fresh');
    expect(tokenPhase(t, 1_003_400)).toBe('refresh-due');
    expect(tokenPhase(t, 1_003_600)).toBe('servable-if-failing');
    expect(tokenPhase(t, 1_003_800)).toBe('expired');
  });
});

describe('nextFetchAt', () => {
  const failure = (f: Partial<FetchFailure>): FetchFailure => ({
    failures: 1,
    startedAt: 10_000,
    failedAt: 10_050,
    retryable: true,
    backoffMs: 1_000,
    held: 'none',
    ...f,
  });

  it('lets a key without a usable token retry a retryable failure once per second, from the start of the failed fetch', () => {
    expect(nextFetchAt(failure({ failures: 7, backoffMs: 30_000 }), 'none')).toBe(11_000);
    // The same while a token is only served through the outage (past usableUntil).
    expect(nextFetchAt(failure({ failures: 7, backoffMs: 30_000, held: 'servable' }), 'servable')).toBe(11_000);
  });

  it('uses the doubling backoff for background refreshes while a usable token is held', () => {
    expect(nextFetchAt(failure({ failures: 3, backoffMs: 4_000, held: 'usable' }), 'usable')).toBe(14_050);
  });

  it('uses the doubling backoff for a non-retryable error, token or not', () => {
    expect(nextFetchAt(failure({ retryable: false, failures: 2, backoffMs: 2_000 }), 'none')).toBe(12_050);
    expect(nextFetchAt(failure({ retryable: false, failures: 2, backoffMs: 2_000, held: 'servable' }), 'servable')).toBe(12_050);
    expect(nextFetchAt(failure({ retryable: false, failures: 2, backoffMs: 2_000, held: 'usable' }), 'usable')).toBe(12_050);
  });

  it('lets the first caller fetch at once when the held token stopped being usable (or servable), whatever the backoff', () => {
    expect(nextFetchAt(failure({ failures: 5, backoffMs: 16_000, held: 'usable' }), 'servable')).toBe(10_050);
    expect(nextFetchAt(failure({ failures: 5, backoffMs: 16_000, held: 'usable' }), 'none')).toBe(10_050); // invalidated
    expect(nextFetchAt(failure({ retryable: false, failures: 5, backoffMs: 16_000, held: 'usable' }), 'servable')).toBe(10_050);
    expect(nextFetchAt(failure({ failures: 5, backoffMs: 16_000, held: 'servable' }), 'none')).toBe(10_050);
  });

  it('says what a key holds', () => {
    const t = tokenTiming(at(4 * S), DEFAULTS);
    expect(heldToken(undefined, 0)).toBe('none');
    expect(heldToken(t, 1_003_599)).toBe('usable');
    expect(heldToken(t, 1_003_600)).toBe('servable');
    expect(heldToken(t, 1_003_800)).toBe('none');
  });

  it('always honours a longer Retry-After', () => {
    expect(nextFetchAt(failure({ retryAfterMs: 10_000 }), 'none')).toBe(20_050);
    expect(nextFetchAt(failure({ retryAfterMs: 10_000, held: 'usable' }), 'servable')).toBe(20_050);
    expect(nextFetchAt(failure({ retryAfterMs: 100 }), 'none')).toBe(11_000); // shorter: once per second still
  });
});

describe('replyTimes', () => {
  const reply = { receivedAt: 1_000_000, expiresAt: 5_000_000, expirySource: 'jwt' as const };

  it('reads a JWT exp without expires_in as the lifetime exp - iat, counted from arrival (IdP clock ahead or behind)', () => {
    // The IdP's clock is 10 min ahead: iat and exp are both in our future; the lifetime is still 1 h from now.
    expect(replyTimes({ ...reply, jwtIatMs: 1_600_000, jwtExpMs: 1_600_000 + H }, 24 * H)).toEqual({ expiresAt: 1_000_000 + H });
    expect(replyTimes({ ...reply, jwtIatMs: 400_000, jwtExpMs: 400_000 + H }, 24 * H)).toEqual({ expiresAt: 1_000_000 + H });
    expect(replyTimes({ ...reply, jwtIatMs: 0, jwtExpMs: 48 * H }, 24 * H)).toEqual({ expiresAt: 1_000_000 + 24 * H }); // maxTtlMs
  });

  it('keeps the absolute exp without iat, with iat not before exp, for a token file, and when expires_in decided', () => {
    expect(replyTimes({ ...reply, jwtExpMs: 5_000_000 }, 24 * H)).toEqual({ expiresAt: 5_000_000 });
    expect(replyTimes({ ...reply, jwtIatMs: 6_000_000, jwtExpMs: 5_000_000 }, 24 * H)).toEqual({ expiresAt: 5_000_000 });
    expect(replyTimes({ ...reply, jwtIatMs: 400_000, jwtExpMs: 5_000_000 }, 24 * H, false)).toEqual({ expiresAt: 5_000_000 });
    expect(replyTimes({ ...reply, expirySource: 'expiresIn', jwtIatMs: 400_000, jwtExpMs: 9_000_000 }, 24 * H)).toEqual({ expiresAt: 5_000_000 });
  });

  it('uses every token for at least 1 s from its arrival: an expiry already past, now or sooner is raised, and said', () => {
    const r = { receivedAt: 1_000_000, expirySource: 'expiresAt' as const };
    expect(replyTimes({ ...r, expiresAt: 999_000 }, 24 * H)).toEqual({ expiresAt: 1_001_000, shortLifetimeMs: -1_000 }); // a remote clock behind ours
    expect(replyTimes({ ...r, expiresAt: 1_000_000 }, 24 * H)).toEqual({ expiresAt: 1_001_000, shortLifetimeMs: 0 }); // expiresAt: new Date()
    expect(replyTimes({ ...r, expirySource: 'expiresIn', expiresAt: 1_000_001 }, 24 * H)).toEqual({ expiresAt: 1_001_000, shortLifetimeMs: 1 }); // 0.001 s
    expect(replyTimes({ ...r, expiresAt: 1_001_000 }, 24 * H)).toEqual({ expiresAt: 1_001_000 }); // 1 s: as sent
    // A JWT whose exp is its iat (or before it) keeps its absolute exp, raised to the minimum.
    const jwt = { ...r, expirySource: 'jwt' as const, jwtIatMs: 500_000, jwtExpMs: 500_000, expiresAt: 500_000 };
    expect(replyTimes(jwt, 24 * H)).toEqual({ expiresAt: 1_001_000, shortLifetimeMs: -500_000 });
    expect(replyTimes({ ...jwt, expiresAt: Number.NaN }, 24 * H)).toMatchObject({ expiresAt: 1_001_000 });
    // A token file's expired JWT too (re-read at most about once a second).
    expect(replyTimes(jwt, 24 * H, false)).toEqual({ expiresAt: 1_001_000, shortLifetimeMs: -500_000 });
  });

  it('moves refreshAt to receivedAt + refresh_in', () => {
    expect(replyTimes({ ...reply, expirySource: 'expiresIn', refreshInMs: 1_800_000 }, 24 * H)).toEqual({ expiresAt: 5_000_000, refreshAt: 2_800_000 });
    expect(replyTimes({ ...reply, expirySource: 'expiresIn', refreshInMs: 0 }, 24 * H)).toEqual({ expiresAt: 5_000_000 });
  });
});
