/** Messages of `TokenCacheModule.forFeature`. No token or secret ever goes in here. */
export const tokenClientMessages = {
  noCache: (name: string) =>
    `TokenCacheModule.forFeature({ name: "${name}" }) found no TokenCacheService. Import TokenCacheModule.forRoot() ` +
    'or forRootAsync() once in the application (it is global by default; with isGlobal: false it must be ' +
    'visible to the module that imports forFeature).',
  badSubjectToken: (name: string) =>
    `Invalid token cache option "subjectToken" of forFeature({ name: "${name}" }): expected 'incoming' (the bearer token of the ` +
    'HTTP request being handled, for a tokenExchange source) or a function returning the subject token.',
  badClient: (name: string, got: string) =>
    `Invalid token cache option "client": TokenCacheModule.forFeature({ name: "${name}" }) takes client: 'axios' (default) or 'fetch'; got ${got}.`,
  unknownFetchOption: (name: string, key: string, suggestion: string | undefined) =>
    `Unknown token cache option "${key}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}: TokenCacheModule.forFeature({ name: "${name}", client: 'fetch' }) takes only ` +
    'source, subject, scopes, audience, resource, subjectToken, header, scheme, fetch and baseURL (axios options belong to client: \'axios\').',
  misspeltAxiosOption: (name: string, key: string, suggestion: string) =>
    `Unknown token cache option "${key}": did you mean "${suggestion}"? TokenCacheModule.forFeature({ name: "${name}" }) passes ` +
    'every option that is not its own to axios.create(), which would silently ignore this one.',
  fetchNotReady: (name: string) =>
    `The fetch client "${name}" of TokenCacheModule.forFeature was called before its module was initialised (or after it was closed); call it once the application has started.`,
  badOptions: () =>
    `Invalid token cache option "name": TokenCacheModule.forFeature() needs options like { name: 'billing', source: 'billing', baseURL: 'https://billing.example' }.`,
} as const;
