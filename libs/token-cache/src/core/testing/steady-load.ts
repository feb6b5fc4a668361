// A simulated IdP and steady load on the fake clock, for the specs of the timing rules (token-timing.ts).
import { TokenFetchError } from '../token-cache.errors.js';
import type { TokenSource } from '../sources/token-source.interface.js';
import type { TokenCache } from '../token-cache.js';
import type { TokenResponse } from '../token-cache.types.js';
import { flush, type FakeClock } from './fake-clock.js';

/** An IdP on the fake clock: answers after `latencyMs`, with `lifetimeMs` tokens (or `reply(n)`), or 500 while `down(startedAt)`. */
export class SimulatedIdp implements TokenSource {
  readonly kind = 'simulated';
  /** When each token request started. */
  readonly requests: number[] = [];
  down: (at: number) => boolean = () => false;
  error: () => Error = () => new TokenFetchError('IdP said 500', { status: 500 });
  /** The reply to the n-th request (1-based); default a `lifetimeMs` token. */
  reply?: (n: number) => TokenResponse;
  private n = 0;

  constructor(
    private readonly clock: FakeClock,
    public lifetimeMs: number,
    public latencyMs = 50,
  ) {}

  fetchToken(): Promise<TokenResponse> {
    const startedAt = this.clock.now();
    this.requests.push(startedAt);
    const failing = this.down(startedAt);
    const n = ++this.n;
    return new Promise<TokenResponse>((resolve, reject) => {
      const answer = () => (failing ? reject(this.error()) : resolve(this.reply?.(n) ?? { accessToken: `t${n}`, expiresIn: this.lifetimeMs / 1000 }));
      if (this.latencyMs === 0) answer();
      else this.clock.setTimeout(answer, this.latencyMs);
    });
  }
}

export interface Call {
  at: number;
  ok: boolean;
  /** Answered from the cache (resolved before any time passed). */
  immediate: boolean;
}

/**
 * Steady load: `callers` calls every `stepMs` for `durationMs`. Returns every call. Each step lets pending
 * promises run before time moves on, so a call that is answered from the cache is seen as answered at once.
 */
export async function steadyLoad(cache: TokenCache, clock: FakeClock, durationMs: number, stepMs: number, callers = 2, source = 'api'): Promise<Call[]> {
  const calls: Call[] = [];
  const end = clock.now() + durationMs;
  while (clock.now() < end) {
    const at = clock.now();
    const settled: Call[] = [];
    for (let i = 0; i < callers; i++) {
      const call: Call = { at, ok: false, immediate: false };
      settled.push(call);
      cache.getToken(source).then(
        () => (call.ok = true),
        () => (call.ok = false),
      );
    }
    await flush(1);
    // A call answered from the cache has resolved within this turn; one that waits on the IdP cannot have.
    for (const call of settled) call.immediate = call.ok;
    await flush(2);
    calls.push(...settled);
    clock.advance(stepMs);
    await flush(2); // what the IdP answered during the step settles before the next calls
  }
  await flush();
  return calls;
}
