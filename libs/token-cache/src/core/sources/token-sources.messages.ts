/**
 * Messages of the built-in OAuth and file sources. Like token-cache.messages.ts they take only names,
 * paths, statuses and OAuth error codes; a server's `error_description` is redacted before it gets here.
 */
export const sourceMessages = {
  httpError: (source: string, status: number, oauthError: string | undefined, description: string | undefined, grantType?: string) =>
    `Fetching a token for source "${source}" failed: the token endpoint answered HTTP ${status}` +
    (oauthError ? ` with error "${oauthError}"` : '') +
    (description ? ` (${description})` : '') +
    hintFor(status, oauthError, grantType),
  network: (source: string, detail: string) =>
    `Fetching a token for source "${source}" failed: the token endpoint could not be reached (${detail}). Check "tokenUrl" and the network.`,
  proxyRefused: (source: string, proxy: string, status: number, host: string) =>
    `Fetching a token for source "${source}" failed: the proxy ${proxy} refused to open a tunnel to ${host} ` +
    `(HTTP ${status}${status === 407 ? ', proxy authentication required: put the credentials in the proxy URL' : status === 403 ? ': the proxy does not allow this destination' : ''}). ` +
    'Check the proxy variables and NO_PROXY.',
  aborted: (source: string) => `Fetching a token for source "${source}" was aborted (timeout or shutdown) before the token endpoint answered.`,
  truncated: () => `the reply ended before its body was complete (truncated)`,
  tooLarge: (maxBytes: number) =>
    `the reply is larger than maxResponseBytes (${maxBytes} bytes) and was abandoned; a token reply is a few KB, so "tokenUrl" probably points at something else (raise the source's "maxResponseBytes" if not)`,
  clientLibrary: (source: string, detail: string) =>
    `Fetching a token for source "${source}" failed before a reply was read: ${detail}`,
  refreshTokenLockUnavailable: (source: string, detail: string) =>
    `Refreshing source "${source}" was not attempted: the fleet-wide lock that keeps two instances from spending ` +
    `one refresh token could not be taken (${detail}); without it, a rotating IdP with reuse detection could revoke ` +
    'the whole grant. Nothing was sent; the cached token is served until it expires, and the refresh is retried ' +
    'with backoff once the shared token store answers again.',
  refreshTokenUnsettled: (source: string, restored: boolean, waitS: number) =>
    `Refreshing source "${source}" was not attempted: ` +
    (restored
      ? 'the shared token store lost the fleet\'s current refresh token (it restarted empty or failed over) and the instances are putting back the newest one they hold'
      : 'another instance spent the shared refresh token and its replacement has not reached the shared token store yet') +
    `; spending the one this instance holds could reuse a spent refresh token. Nothing was sent; retried with backoff (after ${waitS} s without news the other instance is taken for gone).`,
  rotationCallbackFailed: (source: string, detail: string) =>
    `Source "${source}": "onRefreshTokenRotated" failed (${detail}). The new refresh token is still used by this process, ` +
    'but it was not persisted: a restart will start from the old, now spent, refresh token.',
  assertionFunctionFailed: (source: string, option: string, detail: string) =>
    `Fetching a token for source "${source}" failed: the "${option}" function threw (${detail}). Nothing was sent.`,
  assertionBadValue: (source: string, option: string, got: string) =>
    `Fetching a token for source "${source}" failed: the "${option}" function must return a non-empty string (the assertion), got ${got}. Nothing was sent.`,
  assertionFileUnreadable: (source: string, option: string, path: string, code: string) =>
    `Fetching a token for source "${source}" failed: the "${option}" file "${path}" could not be read (${code}). ` +
    'Check the path and that the volume (a Kubernetes projected service-account token) is mounted. Nothing was sent.',
  assertionFileEmpty: (source: string, option: string, path: string) =>
    `Fetching a token for source "${source}" failed: the "${option}" file "${path}" is empty. Nothing was sent.`,
  discoveryFailed: (source: string, issuer: string, detail: string) =>
    `Fetching a token for source "${source}" failed: discovery of issuer "${issuer}" failed: ${detail}. ` +
    'Check "issuer" (or set "tokenUrl" to skip discovery). Will retry with backoff.',
  noDiscoveryDocument: (tried: string[]) =>
    `no discovery document (${tried.join('; ')}): the issuer serves neither /.well-known/openid-configuration nor /.well-known/oauth-authorization-server`,
  discoveryIssuerMismatch: (found: string) =>
    `the discovery document names another issuer ("${found}"): use exactly that value as "issuer"`,
  discoveryNoTokenEndpoint: () => 'the discovery document has no "token_endpoint"',
  discoveryBadDocument: (url: string) => `${url} is not an authorization server metadata document (JSON with "issuer")`,
  noClientCertificate: (source: string, authMethod: string) =>
    `Fetching a token for source "${source}" failed: the token endpoint asked for a client certificate that was not accepted or not sent ` +
    `(authMethod '${authMethod}'). Check "tls.cert" / "tls.key" and that the IdP trusts the certificate.`,
  subjectTokenExpired: (source: string) =>
    `Fetching a token for source "${source}" failed: the subject token has expired (its JWT "exp" is past). Nothing was sent; the caller needs a fresh token.`,
  fileMissing: (source: string, path: string) =>
    `Reading the token file for source "${source}" failed: "${path}" does not exist (yet). Check "fileToken.path" and that the sidecar writing it runs.`,
  fileEmpty: (source: string, path: string) =>
    `Reading the token file for source "${source}" failed: "${path}" is empty. The sidecar writing it may not have finished.`,
  fileUnreadable: (source: string, path: string, code: string) =>
    `Reading the token file for source "${source}" failed: "${path}" could not be read (${code}).`,
  fileNotJson: (path: string) => `"${path}" is not JSON (fileToken format "json")`,
  fileNoField: (path: string, field: string) => `"${path}" has no non-empty string field "${field}"`,
  fileBadExpiry: (path: string, field: string) => `"${path}" has a "${field}" that is not a date, epoch seconds or epoch milliseconds`,
} as const;

/** What `invalid_grant` (RFC 6749 §5.2) rejected, per grant type. */
const INVALID_GRANT_HINTS: Record<string, string> = {
  refresh_token: '. The grant (refresh token) was rejected: it is expired, revoked or already spent; get a new one.',
  'urn:ietf:params:oauth:grant-type:token-exchange':
    '. The subject token (or actor token) was rejected (RFC 8693): it is expired, revoked, not issued to this client, ' +
    'or not accepted for the requested audience; the caller needs a valid token.',
  'urn:ietf:params:oauth:grant-type:jwt-bearer':
    '. The assertion was rejected (RFC 7523): check its "iss", "sub", "aud" (the IdP\'s issuer or token endpoint), "exp", ' +
    'and that the IdP trusts its signing key.',
};

function hintFor(status: number, oauthError: string | undefined, grantType: string | undefined): string {
  if (oauthError === 'invalid_client' || status === 401) return '. Check "clientId", the client secret or key, and "authMethod".';
  if (oauthError === 'invalid_grant') {
    return INVALID_GRANT_HINTS[grantType ?? 'refresh_token'] ?? '. The grant was rejected: check the grant\'s parameters with the IdP.';
  }
  if (oauthError === 'invalid_scope') return '. Check the requested scopes.';
  if (status === 429 || status >= 500) return '. Will retry with backoff.';
  return '.';
}
