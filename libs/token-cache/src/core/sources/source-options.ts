/**
 * The option names of every source factory, checked against their interfaces at compile time (`optionNames`):
 * a name not listed here is a TokenCacheConfigError naming it (`clientCredentials.tokenURL`, did you mean
 * `clientCredentials.tokenUrl`?), thrown when the source is defined, never at the first fetch.
 */
import type { DPoPKeyOptions } from '../dpop/dpop-key.js';
import { optionNames } from '../validate.js';
import type { ClientCredentialsOptions } from './client-credentials.source.js';
import type { FileTokenOptions } from './file-token.source.js';
import type { JwtBearerOptions } from './jwt-bearer.source.js';
import type { PrivateKeyWithId } from './oauth-client-auth.js';
import type { OAuthTlsOptions } from './oauth-egress.js';
import type { OAuthClientOptions } from './oauth-grant.js';
import type { RefreshTokenGrantOptions } from './refresh-token.source.js';
import type { StaticTokenOptions } from './static-token.source.js';
import type { TokenExchangeOptions } from './token-exchange.source.js';
import type { TokenFunctionOptions } from './token-function.source.js';

export const OAUTH_CLIENT_OPTION_NAMES = optionNames<OAuthClientOptions>()(
  'tokenUrl',
  'issuer',
  'clientId',
  'clientSecret',
  'authMethod',
  'privateKey',
  'clientAssertion',
  'tls',
  'fetch',
  'extraParams',
  'timeoutMs',
  'dpop',
  'maxResponseBytes',
);

export const CLIENT_CREDENTIALS_OPTION_NAMES = optionNames<ClientCredentialsOptions>()(
  ...(OAUTH_CLIENT_OPTION_NAMES as readonly (keyof OAuthClientOptions)[]),
  'scope',
  'audience',
  'resource',
);

export const REFRESH_TOKEN_GRANT_OPTION_NAMES = optionNames<RefreshTokenGrantOptions>()(
  ...(OAUTH_CLIENT_OPTION_NAMES as readonly (keyof OAuthClientOptions)[]),
  'refreshToken',
  'scope',
  'audience',
  'resource',
  'onRefreshTokenRotated',
  'logger',
);

export const TOKEN_EXCHANGE_OPTION_NAMES = optionNames<TokenExchangeOptions>()(
  ...(OAUTH_CLIENT_OPTION_NAMES as readonly (keyof OAuthClientOptions)[]),
  'subjectTokenType',
  'requestedTokenType',
  'actorToken',
  'actorTokenType',
  'scope',
  'audience',
  'resource',
);

export const JWT_BEARER_OPTION_NAMES = optionNames<JwtBearerOptions>()(
  ...(OAUTH_CLIENT_OPTION_NAMES as readonly (keyof OAuthClientOptions)[]),
  'assertion',
  'scope',
  'audience',
  'resource',
);

export const TOKEN_FUNCTION_OPTION_NAMES = optionNames<TokenFunctionOptions>()('defaultTtlMs', 'timeoutMs', 'secrets');
export const FILE_TOKEN_OPTION_NAMES = optionNames<FileTokenOptions>()('path', 'format', 'field', 'defaultTtlMs', 'debounceMs', 'pollIntervalMs');
export const STATIC_TOKEN_OPTION_NAMES = optionNames<StaticTokenOptions>()('tokenType', 'expiresIn');
export const TLS_OPTION_NAMES = optionNames<OAuthTlsOptions>()('cert', 'key', 'passphrase', 'ca');
export const DPOP_OPTION_NAMES = optionNames<DPoPKeyOptions>()('privateKey', 'publicKey', 'alg');
export const PRIVATE_KEY_WITH_ID_NAMES = optionNames<PrivateKeyWithId>()('key', 'kid', 'alg');
/** `{ path }` of `clientAssertion` / `assertion`. */
export const ASSERTION_FILE_NAMES: readonly string[] = ['path'];
