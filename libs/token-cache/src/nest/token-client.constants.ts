/** Injection tokens of the token-injected HTTP clients of `TokenCacheModule.forFeature`. */

/** The injection token of the AxiosInstance `TokenCacheModule.forFeature({ name })` provides. */
export function getTokenClientToken(name: string): string {
  return `nestjs-token-cache:client:${name}`;
}
