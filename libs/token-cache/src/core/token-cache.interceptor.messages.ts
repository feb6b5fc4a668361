/** Messages of the Axios interceptor. Like token-cache.messages.ts they never take a token or a secret. */
export const interceptorMessages = {
  badTarget: (got: string) =>
    `attach() / attachTokenCache() needs an AxiosInstance (from axios.create()) or an object with "axiosRef" ` +
    `such as @nestjs/axios' HttpService; got ${got}.`,
  badCache: (got: string) => `attachTokenCache(instance, cache, options) needs a TokenCache (or TokenCacheService) as "cache"; got ${got}.`,
  badRequestOptions: (got: string) =>
    `"tokenCache" of a request (axios config or tokenFetch init) must be an object like { subject?, scopes?, audience? }; got ${got}.`,
  badFetchCache: (got: string) => `tokenFetch(cache, options) needs a TokenCache (or TokenCacheService) as "cache"; got ${got}.`,
  badFetch: (got: string) => `tokenFetch option "fetch" must be a function with the signature of the global fetch; got ${got}.`,
  badBaseUrl: (got: string) => `tokenFetch option "baseURL" must be an absolute http(s) URL such as 'https://api.example/v1/'; got ${got}.`,
} as const;
