/** Messages of the admin endpoints. They name options, sources and query values, never a token. */
export const adminMessages = {
  noGuards: (path: string) =>
    `Token cache admin endpoints are enabled at /${path} without guards: anyone who can reach the app can list ` +
    'cache entries and drop tokens. Pass admin.guards (for example an auth guard) to TokenCacheModule.forRoot().',
  unknownQuery: () => 'Unknown query parameter. DELETE /tokens accepts only "source" (a configured source name) and "expired" ("true" or "false").',
  badExpired: () => 'Query parameter "expired" must be "true" or "false".',
  badSource: () => 'Query parameter "source" must be one configured source name.',
  // The value itself is not echoed: a reply never repeats what a caller may have pasted by mistake.
  unknownSource: (known: string[]) =>
    `Query parameter "source" is not a configured token source (configured: ${known.map((s) => `"${s}"`).join(', ') || '(none)'}).`,
} as const;
