/** A token source for app tests: hands out numbered test tokens, records every request, and fails on demand. */
import { TokenFetchError, type TokenFetchContext, type TokenRequest, type TokenResponse, type TokenSource } from '../core/index.js';

export interface TestTokenSourceOptions {
  /**
   * What each fetch returns: a function of the request and the fetch number (1, 2, …) giving a token string
   * or a `TokenResponse`. Default `` `test-token-${n}` `` with `expiresIn`.
   */
  reply?: (request: TokenRequest, n: number) => TokenResponse | string | Promise<TokenResponse | string>;
  /** Lifetime in seconds of the default replies. Default 3600. */
  expiresIn?: number;
}

/**
 * A `TokenSource` with no identity provider behind it, for tests of an app that uses the cache:
 *
 * - every fetch returns a new token (`test-token-1`, `test-token-2`, …, or what `reply` returns), so a test
 *   sees when the cache fetched again (after `invalidate`, a 401 retry, expiry);
 * - `calls` records each request (`source`, `subject`, `scopes`, `audience`, `resource`), `count` their number;
 * - `failWith(error?)` makes every fetch fail (default: a retryable `TokenFetchError` with status 503, as an
 *   identity provider outage looks), until `succeed()`.
 */
export class TestTokenSource implements TokenSource {
  readonly kind = 'test';
  /** The requests of every fetch so far, oldest first. */
  readonly calls: TokenRequest[] = [];
  private failure?: unknown;
  private readonly reply: NonNullable<TestTokenSourceOptions['reply']>;

  constructor(options: TestTokenSourceOptions = {}) {
    const expiresIn = options.expiresIn ?? 3600;
    this.reply = options.reply ?? ((_request, n) => ({ accessToken: `test-token-${n}`, expiresIn }));
  }

  /** How many fetches were made. */
  get count(): number {
    return this.calls.length;
  }

  /** Makes every following fetch fail with `error` (default a 503 `TokenFetchError`) until `succeed()`. */
  failWith(error?: unknown): this {
    this.failure = error ?? new TokenFetchError('Test token source: the identity provider is down (503)', { status: 503, retryable: true });
    return this;
  }

  /** Ends `failWith`: fetches answer again. */
  succeed(): this {
    this.failure = undefined;
    return this;
  }

  async fetchToken(request: TokenRequest, _context?: TokenFetchContext): Promise<TokenResponse> {
    this.calls.push({ ...request });
    const n = this.calls.length;
    if (this.failure !== undefined) throw this.failure;
    const result = await this.reply(request, n);
    return typeof result === 'string' ? { accessToken: result } : result;
  }
}
