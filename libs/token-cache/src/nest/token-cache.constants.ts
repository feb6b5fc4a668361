/** Public injection tokens and names of the Nest layer. */

/** The name of the cleanup interval in `SchedulerRegistry`. */
export const TOKEN_CACHE_CLEANUP_INTERVAL = 'token-cache:cleanup';

/** Injection token of the module options (`forRoot` options or the `forRootAsync` factory's result). */
export const TOKEN_CACHE_MODULE_OPTIONS = Symbol('TOKEN_CACHE_MODULE_OPTIONS');
