/** Messages of the health indicator. */
export const healthMessages = {
  noCache: () =>
    'TokenCacheHealthIndicator found no TokenCacheService in the app: import TokenCacheModule.forRoot() or forRootAsync().',
} as const;
