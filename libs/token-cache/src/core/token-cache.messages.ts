/**
 * Every user-facing error message in one place. None of them takes a token or a secret: only names,
 * option paths, statuses and OAuth error codes, which are safe to log.
 */
export const messages = {
  noSubjectToken: (source: string) =>
    `No subject token for source "${source}": this request carries no "subjectToken" (with forFeature({ subjectToken: 'incoming' }): ` +
    'the HTTP request being handled has no "Authorization: Bearer" header, or the call was made outside one). Nothing was sent.',
  subjectTokenNotUsed: (source: string, kind: string) =>
    `Source "${source}" (${kind}) does not use "subjectToken": every subject token would get its own, identical token. ` +
    'Give "subjectToken" only to a tokenExchange source (or a source of your own that uses it): check the "source" of the getToken call or of forFeature(). Nothing was sent.',
  config: (option: string, problem: string) => `Invalid token cache option "${option}": ${problem}`,
  unknownSource: (source: string, known: string[]) =>
    `Unknown token source "${source}". Configured sources: ${known.length ? known.map((s) => `"${s}"`).join(', ') : '(none)'}. ` +
    'Add it to the "sources" option of TokenCacheModule.forRoot() / new TokenCache().',
  fetchFailed: (source: string, detail: string) => `Fetching a token for source "${source}" failed: ${detail}`,
  fetchTimeout: (source: string, ms: number) =>
    `Fetching a token for source "${source}" timed out after ${ms} ms (raise "fetchTimeoutMs" or the source's "timeoutMs" if the identity provider is slow).`,
  badResponse: (source: string, problem: string) =>
    `The token response for source "${source}" is unusable: ${problem}. Nothing was cached.`,
  badParams: (method: string, field: string, problem: string) =>
    `Invalid token parameters${method ? ` for ${method}()` : ''}: "${field}" ${problem.startsWith('is ') || problem.startsWith('has ') ? problem : `— ${problem}`}.`,
  unknownOption: (option: string, suggestion: string | undefined) =>
    `Unknown token cache option "${option}"${suggestion ? `: did you mean "${suggestion}"?` : '. Remove it, or check its spelling against the documented options.'}`,
  shortLifetime: (source: string, sent: string, minMs: number) =>
    `Token source "${source}" sent a token with ${sent}: it is used for ${minMs} ms (the shortest lifetime) and fetched again after that, ` +
    'so that not every call fetches. Check the identity provider\'s token lifetime and clock (logged once until it sends a longer-lived token).',
  closed: (source: string) => `The token cache was closed while fetching a token for source "${source}".`,
} as const;
