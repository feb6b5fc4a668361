/** Public injection tokens and names of the Nest layer. */

/** The name of the cleanup interval in `SchedulerRegistry`. */
export const TOKEN_CACHE_CLEANUP_INTERVAL = 'token-cache:cleanup';
