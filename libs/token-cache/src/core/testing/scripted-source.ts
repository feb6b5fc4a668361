/** A token source for tests whose replies the test scripts and whose calls it can see and settle by hand. */
import type { TokenSource } from '../sources/token-source.interface.js';
import type { TokenRequest, TokenResponse } from '../token-cache.types.js';

export interface PendingCall {
  request: TokenRequest;
  signal: AbortSignal;
  resolve(response: TokenResponse | string): void;
  reject(error: unknown): void;
}

export class ScriptedSource implements TokenSource {
  readonly kind = 'scripted';
  readonly calls: TokenRequest[] = [];
  readonly pending: PendingCall[] = [];
  /** When true, calls wait for the test to resolve them (see `pending`); else `reply` answers at once. */
  manual = false;
  private seq = 0;

  constructor(public reply: (request: TokenRequest, n: number) => TokenResponse | string | Promise<TokenResponse | string> = (_r, n) => ({ accessToken: `token-${n}`, expiresIn: 3600 })) {}

  get count(): number {
    return this.calls.length;
  }

  async fetchToken(request: TokenRequest, { signal }: { signal: AbortSignal }): Promise<TokenResponse> {
    this.calls.push(request);
    const n = ++this.seq;
    const raw = this.manual
      ? await new Promise<TokenResponse | string>((resolve, reject) => this.pending.push({ request, signal, resolve, reject }))
      : await this.reply(request, n);
    return typeof raw === 'string' ? { accessToken: raw } : raw;
  }
}
