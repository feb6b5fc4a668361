/**
 * The opt-in admin endpoints. Nest fixes routes when a module is defined, so the controller class is made
 * per `forRoot`/`forRootAsync` call, with the configured path and guards baked into its decorators.
 */
import {
  BadRequestException,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Logger,
  Query,
  UseGuards,
  type CanActivate,
  type OnModuleInit,
  type Type,
} from '@nestjs/common';
import type { TokenCacheEntry, TokenCacheStats } from '../core/index.js';
import { TokenCacheConfigError } from '../core/index.js';
import { messages } from '../core/token-cache.messages.js';
import { adminMessages } from './token-cache-admin.messages.js';
import type { TokenCacheAdminOptions } from './token-cache-module-options.interface.js';
import { TokenCacheService } from './token-cache.service.js';

/** The default route prefix of the admin endpoints. */
export const TOKEN_CACHE_ADMIN_DEFAULT_PATH = 'token-cache';

/** `GET /<path>/status`. Never a token. */
export interface TokenCacheAdminStatus {
  stats: TokenCacheStats;
  entries: TokenCacheEntry[];
}

/** `DELETE /<path>/tokens`. */
export interface TokenCacheAdminRemoval {
  removed: number;
}

/** `admin` checked and with its defaults. */
export interface ResolvedAdminOptions {
  enabled: boolean;
  path: string;
  guards: (Type<CanActivate> | CanActivate)[];
}

/** Checks `admin` when the module is defined; throws TokenCacheConfigError naming the bad field. */
export function resolveAdminOptions(admin: TokenCacheAdminOptions | undefined): ResolvedAdminOptions {
  if (admin === undefined || admin === null) return { enabled: false, path: TOKEN_CACHE_ADMIN_DEFAULT_PATH, guards: [] };
  if (typeof admin !== 'object') throw new TokenCacheConfigError('admin', messages.config('admin', 'expected { enabled?, path?, guards? }'));
  const { enabled = false, path = TOKEN_CACHE_ADMIN_DEFAULT_PATH, guards = [] } = admin;
  if (typeof enabled !== 'boolean') throw new TokenCacheConfigError('admin.enabled', messages.config('admin.enabled', 'expected true or false'));
  if (typeof path !== 'string' || path.replace(/\//g, '').trim() === '') {
    throw new TokenCacheConfigError('admin.path', messages.config('admin.path', 'expected a non-empty route path such as "token-cache"'));
  }
  if (!Array.isArray(guards) || guards.some((g) => g === null || (typeof g !== 'function' && typeof (g as CanActivate)?.canActivate !== 'function'))) {
    throw new TokenCacheConfigError('admin.guards', messages.config('admin.guards', 'expected an array of guard classes (implementing CanActivate)'));
  }
  return { enabled, path: path.replace(/^\/+|\/+$/g, ''), guards };
}

/** Builds the controller class for one module definition, from options `resolveAdminOptions` checked. */
export function createTokenCacheAdminController({ path, guards }: ResolvedAdminOptions): Type<unknown> {
  const logger = new Logger('TokenCache');

  @Controller(path)
  @UseGuards(...guards)
  class TokenCacheAdminController implements OnModuleInit {
    constructor(@Inject(TokenCacheService) private readonly cache: TokenCacheService) {}

    onModuleInit(): void {
      if (guards.length === 0) logger.warn(adminMessages.noGuards(path));
    }

    @Get('status')
    status(): TokenCacheAdminStatus {
      return { stats: this.cache.stats(), entries: this.cache.entries() };
    }

    /** No query: every entry; `expired=true`: only expired ones; `source=x`: only x's; both combine. */
    @Delete('tokens')
    @HttpCode(200)
    async removeTokens(@Query() query: Record<string, unknown>): Promise<TokenCacheAdminRemoval> {
      const { source, expired } = this.parseQuery(query ?? {});
      const removed = expired ? await this.cache.removeExpired(source) : await this.cache.clear(source);
      return { removed };
    }

    private parseQuery(query: Record<string, unknown>): { source?: string; expired: boolean } {
      if (Object.keys(query).some((k) => k !== 'source' && k !== 'expired')) throw new BadRequestException(adminMessages.unknownQuery());
      const { expired } = query;
      // `?source=` (empty, as a form or the documented `?source=&expired=true` template sends it) means no filter.
      const source = query.source === '' ? undefined : query.source;
      if (expired !== undefined && expired !== 'true' && expired !== 'false') throw new BadRequestException(adminMessages.badExpired());
      if (source !== undefined) {
        if (typeof source !== 'string') throw new BadRequestException(adminMessages.badSource());
        const known = this.cache.sourceNames();
        if (!known.includes(source)) throw new BadRequestException(adminMessages.unknownSource(known));
      }
      return { source: source as string | undefined, expired: expired === 'true' };
    }
  }
  return TokenCacheAdminController;
}
