/**
 * On-behalf-of in Nest: the bearer token of the HTTP request being handled, through the request's async
 * context. `IncomingRequestContextMiddleware` runs first for every route (middleware runs before guards,
 * interceptors, pipes and the handler), so any code that handles the request, a guard included, sees it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Injectable, Module, RequestMethod, type MiddlewareConsumer, type NestMiddleware, type NestModule } from '@nestjs/common';

/** What the middleware keeps of the incoming request: only its Authorization header, read when asked for. */
interface IncomingRequest {
  readonly authorization: unknown;
}

const incoming = new AsyncLocalStorage<IncomingRequest>();

/** RFC 6750 §2.1: `Bearer` (any case), one or more spaces, a b64token. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)\s*$/i;

/**
 * The `Authorization: Bearer` token of the HTTP request being handled; undefined outside a request, or when
 * the request has none (no header, another scheme, a malformed value).
 */
export function incomingBearerToken(): string | undefined {
  const header = incoming.getStore()?.authorization;
  const value = Array.isArray(header) ? header[0] : header;
  if (typeof value !== 'string') return undefined;
  return BEARER.exec(value)?.[1];
}

/** Runs the rest of the request (guards, interceptors, handler) inside its own async context. */
@Injectable()
export class IncomingRequestContextMiddleware implements NestMiddleware {
  use(req: { headers?: Record<string, unknown>; raw?: { headers?: Record<string, unknown> } }, _res: unknown, next: () => void): void {
    // Express passes the request; Fastify's middleware passes the raw Node request (headers on it either way).
    const headers = req.headers ?? req.raw?.headers ?? {};
    incoming.run({ authorization: headers.authorization }, next);
  }
}

/** Installed once by every `forFeature({ subjectToken: 'incoming' })`: the middleware on every route. */
@Module({})
export class IncomingRequestContextModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(IncomingRequestContextMiddleware).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}
