/** Guards the token cache's admin endpoints: the `x-admin-key` header must match the key printed at start. */
import { timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { DEMO_CONTEXT, type DemoContext } from './demo-context.js';

export const ADMIN_KEY_HEADER = 'x-admin-key';

@Injectable()
export class AdminKeyGuard implements CanActivate {
  constructor(@Inject(DEMO_CONTEXT) private readonly ctx: DemoContext) {}

  canActivate(context: ExecutionContext): boolean {
    const given = Buffer.from(String(context.switchToHttp().getRequest<{ headers: Record<string, string | string[] | undefined> }>().headers[ADMIN_KEY_HEADER] ?? ''));
    const expected = Buffer.from(this.ctx.options.adminKey);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new UnauthorizedException(`send the admin key (printed when the demo started) in the ${ADMIN_KEY_HEADER} header`);
    }
    return true;
  }
}
