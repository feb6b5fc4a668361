import { describe, expect, it } from 'vitest';
import { MemoryTokenStore } from './memory-token-store.js';
import { runSource, sameTokenSameLife, type SourceRunContext } from './source-run.js';
import { TokenFetchError, TokenResponseError } from './token-cache.errors.js';
import type { StoredToken } from './token-store.interface.js';
import { FakeClock, flush } from './testing/fake-clock.js';
import { ScriptedSource } from './testing/scripted-source.js';

function context(clock: FakeClock, extra: Partial<SourceRunContext> = {}): SourceRunContext {
  return {
    clock,
    timeoutMs: 1_000,
    defaultTtlMs: 300_000,
    maxTtlMs: 86_400_000,
    maxTokenBytes: 16_384,
    store: new MemoryTokenStore({ maxEntries: 10 }),
    running: new Set(),
    closed: false,
    ...extra,
  };
}

describe('runSource', () => {
  it('turns a reply into the stored token: expiry from arrival, fetch time, requested and granted scopes, key parameters', async () => {
    const clock = new FakeClock();
    const source = new ScriptedSource(() => ({ accessToken: 'tok', expiresIn: 60, scope: 'b a' }));
    const token = await runSource(source, { source: 'api', subject: 'u1', scopes: ['x'], audience: 'aud', resource: 'https://r' }, context(clock));
    expect(token).toEqual({
      accessToken: 'tok',
      tokenType: 'Bearer',
      expiresAt: clock.now() + 60_000,
      receivedAt: clock.now(),
      fetchMs: 0,
      scopes: ['b', 'a'],
      source: 'api',
      subject: 'u1',
      requestedScopes: ['x'],
      audience: 'aud',
      resource: 'https://r',
    });
    // No scope in the reply: the requested ones are what was granted.
    const plain = await runSource(new ScriptedSource(() => ({ accessToken: 't2' })), { source: 'api', scopes: ['x'] }, context(clock));
    expect(plain.scopes).toEqual(['x']);
    expect(plain.expiresAt).toBe(clock.now() + 300_000);
  });

  it('a source slower than timeoutMs is aborted with a retryable TokenFetchError naming the option, and its stop function is removed', async () => {
    const clock = new FakeClock();
    const source = new ScriptedSource();
    source.manual = true;
    const ctx = context(clock);
    const run = runSource(source, { source: 'api' }, ctx);
    const outcome = run.catch((e: unknown) => e);
    await flush();
    expect(ctx.running.size).toBe(1);
    clock.advance(1_000);
    const error = (await outcome) as TokenFetchError;
    expect(error).toBeInstanceOf(TokenFetchError);
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/timed out after 1000 ms.*fetchTimeoutMs/);
    expect(source.pending[0]!.signal.aborted).toBe(true);
    expect(ctx.running.size).toBe(0);
  });

  it('close() stops a run in flight (not retryable); a run started after close is stopped at once', async () => {
    const clock = new FakeClock();
    const source = new ScriptedSource();
    source.manual = true;
    const ctx = context(clock);
    const run = runSource(source, { source: 'api' }, ctx).catch((e: unknown) => e);
    await flush();
    for (const stop of ctx.running) stop();
    const error = (await run) as TokenFetchError;
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/closed/);
    const late = (await runSource(source, { source: 'api' }, context(clock, { closed: true })).catch((e: unknown) => e)) as TokenFetchError;
    expect(late).toBeInstanceOf(TokenFetchError);
    expect(late.retryable).toBe(false);
  });

  it('a bad reply is a TokenResponseError, and the timer is cancelled', async () => {
    const clock = new FakeClock();
    await expect(runSource(new ScriptedSource(() => ({ accessToken: '' })), { source: 'api' }, context(clock))).rejects.toBeInstanceOf(TokenResponseError);
    expect(clock.pending).toBe(0);
  });
});

describe('sameTokenSameLife', () => {
  const held: StoredToken = { accessToken: 'a', tokenType: 'Bearer', expiresAt: 10_000, receivedAt: 1_000, fetchMs: 7, source: 's' };

  it('the same token read again keeps its first arrival, so its lifetime never shrinks, and says when it was read', () => {
    expect(sameTokenSameLife(held, { ...held, receivedAt: 5_000, fetchMs: 1 })).toEqual({ ...held, fetchMs: 1, fetchedAt: 5_000 });
  });

  it('starts a new life when the first one would leave the token usable for less than a second (else every call reads it again)', () => {
    const reread = { ...held, receivedAt: 9_000 };
    // Under its first life the token stopped being usable at 9_100 (say): read at 9_000, it gets a life of its own.
    expect(sameTokenSameLife(held, reread, () => 9_100)).toBe(reread);
    expect(sameTokenSameLife(held, reread, () => 10_000)).toMatchObject({ receivedAt: 1_000, fetchedAt: 9_000 });
  });

  it('a new token, no held one, or an older read is left as it is', () => {
    const fresh = { ...held, accessToken: 'b', receivedAt: 5_000 };
    expect(sameTokenSameLife(held, fresh)).toBe(fresh);
    expect(sameTokenSameLife(undefined, fresh)).toBe(fresh);
    const older = { ...held, receivedAt: 500 };
    expect(sameTokenSameLife(held, older)).toBe(older);
  });
});
