/** Messages of the Axios interceptor. Like token-cache.messages.ts they never take a token or a secret. */
export const interceptorMessages = {
  badTarget: (got: string) =>
    `attach() / attachTokenCache() needs an AxiosInstance (from axios.create()) or an object with "axiosRef" ` +
    `such as @nestjs/axios' HttpService; got ${got}.`,
  badCache: (got: string) => `attachTokenCache(instance, cache, options) needs a TokenCache (or TokenCacheService) as "cache"; got ${got}.`,
  badRequestOptions: (got: string) =>
    `"tokenCache" of an axios request config must be an object like { subject?, scopes?, audience? }; got ${got}.`,
} as const;
