/**
 * The signed-in users of the dashboard's on-behalf-of buttons: each user's token, as their browser session
 * would hold it after signing in at the demo IdP, kept until shortly before its `exp` (then signed in again).
 */
import { Inject, Injectable } from '@nestjs/common';
import { DEMO_USERS } from '../demo.config.js';
import { DEMO_CONTEXT, type DemoContext } from './demo-context.js';

interface Session {
  token: Promise<string>;
  renewAt: number;
}

@Injectable()
export class DemoUsers {
  private readonly sessions = new Map<string, Session>();

  constructor(@Inject(DEMO_CONTEXT) private readonly ctx: DemoContext) {}

  get names(): string[] {
    return Object.keys(DEMO_USERS);
  }

  /** The user's current token (signing in when there is none or it is near its end); undefined for an unknown user. */
  token(user: string): Promise<string> | undefined {
    const password = DEMO_USERS[user];
    if (password === undefined) return undefined;
    const now = Date.now();
    const known = this.sessions.get(user);
    if (known !== undefined && known.renewAt > now) return known.token;
    const session: Session = { token: this.signIn(user, password), renewAt: Number.POSITIVE_INFINITY };
    this.sessions.set(user, session);
    session.token.then(
      // Renewed a fifth of the lifetime (at least 1 s) before the token's own `exp` (whole seconds, so up to
      // 1 s sooner than the lifetime says): a session never hands out a token that is about to expire.
      (token) => (session.renewAt = expOf(token) - Math.max(1_000, this.ctx.options.ttlSeconds * 200)),
      // A failed sign-in is not kept: the next click tries again.
      () => this.sessions.get(user) === session && this.sessions.delete(user),
    );
    return session.token;
  }

  private async signIn(user: string, password: string): Promise<string> {
    const res = await fetch(`${this.ctx.idpUrl}/demo/user-token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` },
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`the IdP refused to sign ${user} in (${res.status})`);
    return res.text();
  }
}

function expOf(jwt: string): number {
  const exp: unknown = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')).exp;
  return typeof exp === 'number' ? exp * 1000 : 0;
}
