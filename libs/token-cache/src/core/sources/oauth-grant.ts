/**
 * The shared token-endpoint client of `clientCredentials` and `refreshTokenGrant`.
 *
 * openid-client builds and authenticates the request (client_secret_basic with RFC 6749 §2.3.1 form
 * encoding, client_secret_post, private_key_jwt with a fresh `jti`) and sends it with `fetch`, so no axios
 * interceptor ever sees it. The reply is classified by this file, from the raw reply seen in openid-client's
 * `customFetch` hook, because this library's contract differs from openid-client's checks: we need the
 * status and `Retry-After` of every failure (openid-client drops the body's OAuth error when a
 * `WWW-Authenticate` header is present), an `expires_in` like `"3600abc"` must be rejected (openid-client's
 * `parseFloat` accepts it), and a missing `token_type` or an `id_token` we can't check (no discovery, so no
 * issuer) must not fail an otherwise good token. For a 2xx reply, `parseOAuthTokenBody` is the one rule.
 */
import { createPrivateKey, KeyObject, webcrypto } from 'node:crypto';
import {
  allowInsecureRequests,
  clientCredentialsGrant,
  ClientSecretBasic,
  ClientSecretPost,
  Configuration,
  customFetch,
  None,
  PrivateKeyJwt,
  refreshTokenGrant,
  type ClientAuth,
  type CustomFetchOptions,
} from 'openid-client';
import { RETRY_AFTER_MAX_MS } from '../backoff.js';
import { asksForTokenEndpointNonce, resolveDPoPOption, TokenEndpointDPoP, type DPoPOption } from '../dpop/index.js';
import { redact, TokenCacheConfigError, TokenCacheError, TokenFetchError, TokenResponseError } from '../token-cache.errors.js';
import { messages } from '../token-cache.messages.js';
import type { TokenRequest, TokenResponse } from '../token-cache.types.js';
import { parseOAuthTokenBody } from '../token-response.js';
import { assertNonEmptyString, assertOptionalString, assertPositiveInt, assertTimerMs, assertUrl, describeValue } from '../validate.js';
import type { TokenFetchContext } from './token-source.interface.js';
import { sourceMessages } from './token-sources.messages.js';

/** How the client authenticates at the token endpoint. `'none'` is for public clients (refresh grant only). */
export type OAuthAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';

/** A private key for `private_key_jwt`: PKCS#8/PKCS#1/SEC1 PEM, a private JWK, a `KeyObject` or a WebCrypto `CryptoKey`. */
export type PrivateKeyMaterial = string | Buffer | KeyObject | webcrypto.CryptoKey | webcrypto.JsonWebKey;

/** A private key with the `kid` to put in the assertion header and, for RSA keys, the algorithm (default RS256). */
export interface PrivateKeyWithId {
  key: PrivateKeyMaterial;
  kid?: string;
  /** `RS256` (default for RSA), `RS384`, `RS512`, `PS256`, `PS384`, `PS512`; EC and Ed25519 keys imply theirs. */
  alg?: string;
}

/** Options common to the OAuth 2 grant sources. */
export interface OAuthClientOptions {
  /** The token endpoint, e.g. `https://idp.example.com/oauth2/token`. Plain `http:` is allowed (for local IdPs). */
  tokenUrl: string;
  clientId: string;
  clientSecret?: string;
  authMethod?: OAuthAuthMethod;
  /** For `authMethod: 'private_key_jwt'`. */
  privateKey?: PrivateKeyMaterial | PrivateKeyWithId;
  /**
   * The authorization server's issuer identifier, used as the `aud` of `private_key_jwt` assertions.
   * Default `tokenUrl`, which most servers accept (RFC 7523 §3).
   */
  issuer?: string;
  /** More form parameters sent with every token request, e.g. `{ tenant: 'a' }`. */
  extraParams?: Record<string, string>;
  /** Fetch timeout in ms; default the cache's `fetchTimeoutMs`. */
  timeoutMs?: number;
  /**
   * DPoP (RFC 9449): `true` makes an ES256 key pair for this source at start; `{ privateKey, publicKey?, alg? }`
   * uses yours. Token requests then carry a proof, the IdP's `use_dpop_nonce` is answered with one retry, and
   * the tokens are bound to the key (`token_type: DPoP`). Default off.
   */
  dpop?: DPoPOption;
}

/** Parameters the grant itself sets: `extraParams` may not override them. */
const RESERVED_PARAMS = new Set([
  'grant_type',
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
  'refresh_token',
]);

/** OAuth error codes that say "try again later" whatever the status. */
const RETRYABLE_OAUTH_ERRORS = new Set(['temporarily_unavailable', 'server_error', 'slow_down']);
/** OAuth error codes that never heal by waiting, whatever the status. */
const FATAL_OAUTH_ERRORS = new Set(['invalid_client', 'unauthorized_client', 'invalid_grant', 'unsupported_grant_type']);

const AUTH_METHODS: readonly OAuthAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'];

/** A validated OAuth client: sends token requests, classifies replies. */
export class OAuthGrantClient {
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly authMethod: OAuthAuthMethod;
  readonly extraParams: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  private readonly metadata: { issuer: string; token_endpoint: string };
  private readonly insecure: boolean;
  private readonly knownSecrets: string[] = [];
  private readonly authPromise: () => Promise<ClientAuth>;
  /** The source's DPoP key and openid-client handle, when `dpop` is set. */
  readonly dpop?: TokenEndpointDPoP;

  /** Validates the options at once: bad ones throw TokenCacheConfigError naming `<factory>.<option>`. */
  constructor(factory: string, options: OAuthClientOptions, defaultAuthMethod: OAuthAuthMethod, allowedMethods = AUTH_METHODS) {
    if (options === null || typeof options !== 'object') {
      throw new TokenCacheConfigError(factory, messages.config(factory, `expected an options object, got ${describeValue(options)}`));
    }
    assertUrl(`${factory}.tokenUrl`, options.tokenUrl);
    assertNonEmptyString(`${factory}.clientId`, options.clientId);
    assertTimerMs(`${factory}.timeoutMs`, options.timeoutMs);
    assertOptionalString(`${factory}.issuer`, options.issuer);
    const authMethod = options.authMethod ?? defaultAuthMethod;
    if (!allowedMethods.includes(authMethod)) {
      throw new TokenCacheConfigError(
        `${factory}.authMethod`,
        messages.config(`${factory}.authMethod`, `expected one of ${allowedMethods.map((m) => `'${m}'`).join(', ')}, got ${describeValue(authMethod)}`),
      );
    }
    this.tokenUrl = options.tokenUrl;
    this.clientId = options.clientId;
    this.authMethod = authMethod;
    this.timeoutMs = options.timeoutMs;
    this.extraParams = validateExtraParams(`${factory}.extraParams`, options.extraParams);
    this.metadata = { issuer: options.issuer ?? options.tokenUrl, token_endpoint: options.tokenUrl };
    this.insecure = new URL(options.tokenUrl).protocol === 'http:';
    const dpop = resolveDPoPOption(`${factory}.dpop`, options.dpop);
    if (dpop !== undefined) {
      this.dpop = new TokenEndpointDPoP(dpop.key);
      this.knownSecrets.push(...dpop.secrets);
    }

    if (authMethod === 'client_secret_basic' || authMethod === 'client_secret_post') {
      if (typeof options.clientSecret !== 'string' || options.clientSecret === '') {
        throw new TokenCacheConfigError(
          `${factory}.clientSecret`,
          messages.config(`${factory}.clientSecret`, `expected a non-empty string for authMethod '${authMethod}', got ${describeValue(options.clientSecret)}`),
        );
      }
      this.knownSecrets.push(options.clientSecret);
      const auth = authMethod === 'client_secret_basic' ? ClientSecretBasic(options.clientSecret) : ClientSecretPost(options.clientSecret);
      this.authPromise = () => Promise.resolve(auth);
    } else if (authMethod === 'private_key_jwt') {
      const key = loadPrivateKey(`${factory}.privateKey`, options.privateKey);
      this.knownSecrets.push(...key.secrets);
      if (typeof options.clientSecret === 'string' && options.clientSecret !== '') this.knownSecrets.push(options.clientSecret);
      let imported: Promise<ClientAuth> | undefined;
      // Importing into WebCrypto is async: done once, on the first fetch.
      this.authPromise = () =>
        (imported ??= webcrypto.subtle
          .importKey('pkcs8', key.pkcs8, key.algorithm, false, ['sign'])
          .then((cryptoKey) => PrivateKeyJwt({ key: cryptoKey as Parameters<typeof PrivateKeyJwt>[0] & webcrypto.CryptoKey, kid: key.kid })));
    } else {
      const none = None();
      this.authPromise = () => Promise.resolve(none);
    }
  }

  /** The client secret (if any): redacted from every message. */
  secrets(): string[] {
    return [...this.knownSecrets];
  }

  /** The form parameters of a request: the source's defaults, replaced by the request's own. */
  params(request: TokenRequest, defaults: { scopes?: string[]; audience?: string; resource?: string }): URLSearchParams {
    const params = new URLSearchParams(this.extraParams);
    const scopes = request.scopes ?? defaults.scopes;
    if (scopes !== undefined && scopes.length > 0) params.set('scope', scopes.join(' '));
    const audience = request.audience ?? defaults.audience;
    if (audience !== undefined) params.set('audience', audience);
    const resource = request.resource ?? defaults.resource;
    if (resource !== undefined) params.set('resource', resource);
    return params;
  }

  /**
   * Runs one grant. Resolves with the parsed token response (including any `refreshToken`); rejects with a
   * TokenFetchError (no usable reply) or TokenResponseError (a 2xx reply that can't be used).
   * `extraSecrets` (a refresh token) are redacted from messages too.
   */
  async grant(
    grant: { type: 'client_credentials' } | { type: 'refresh_token'; refreshToken: string },
    params: URLSearchParams,
    request: TokenRequest,
    context: TokenFetchContext,
    extraSecrets: string[] = [],
  ): Promise<TokenResponse> {
    const source = request.source;
    const secrets = [...this.knownSecrets, ...extraSecrets];
    let parsed: TokenResponse | undefined;
    try {
      // A Configuration per call: its customFetch carries this call's signal and captures this call's reply.
      const config = new Configuration(this.metadata, this.clientId, undefined, await this.authPromise());
      if (this.insecure) allowInsecureRequests(config);
      config.timeout = 0; // the cache's signal bounds the request
      const DPoP = await this.dpop?.handle(config);
      // RFC 9449 §8: the first reply asking for a nonce goes back to openid-client, which keeps the nonce and
      // retries once; a second one is an error like any other.
      let nonceAsked = false;
      config[customFetch] = async (url: string, init: CustomFetchOptions) => {
        const reply = await this.send(url, init, source, context, secrets, DPoP !== undefined && !nonceAsked);
        if (reply.parsed === undefined) nonceAsked = true;
        else parsed = reply.parsed;
        return reply.response;
      };
      const options = DPoP === undefined ? undefined : { DPoP };
      if (grant.type === 'client_credentials') await clientCredentialsGrant(config, params, options);
      else await refreshTokenGrant(config, grant.refreshToken, params, options);
    } catch (error) {
      // openid-client rejected a 2xx body our rules accept (see the file comment): our rules win.
      if (parsed === undefined) throw toTypedError(error, source, context.signal, secrets);
    }
    return parsed!;
  }

  /** Sends the request with the cache's signal and classifies the reply; a good 2xx is handed back to openid-client. */
  private async send(
    url: string,
    init: CustomFetchOptions,
    source: string,
    context: TokenFetchContext,
    secrets: string[],
    nonceRetry = false,
  ): Promise<{ response: Response; parsed?: TokenResponse }> {
    const { signal } = context;
    let res: Response;
    try {
      res = await fetch(url, { method: init.method, headers: init.headers, body: init.body as RequestInit['body'], redirect: init.redirect, signal });
    } catch (error) {
      throw transportError(error, source, signal);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (error) {
      if (signal.aborted) throw transportError(error, source, signal);
      if (res.ok) throw new TokenResponseError(messages.badResponse(source, sourceMessages.truncated()), source);
      text = ''; // an error reply cut short: its status still says enough
    }
    if (!res.ok && nonceRetry && asksForTokenEndpointNonce(res.status, res.headers, text)) {
      return { response: new Response(text, { status: res.status, headers: res.headers }) };
    }
    if (!res.ok) throw httpError(res.status, res.headers.get('retry-after'), text, source, context, secrets);
    const parsed: TokenResponse = parseOAuthTokenBody(text, source);
    return { response: new Response(text, { status: res.status, headers: res.headers }), parsed };
  }
}

const OAUTH_ERROR_CODE = /^[\x20\x21\x23-\x5B\x5D-\x7E]{1,64}$/;

/** The TokenFetchError for a non-2xx reply (RFC 6749 §5.2 error body where there is one). */
export function httpError(
  status: number,
  retryAfter: string | null,
  text: string,
  source: string,
  context: Pick<TokenFetchContext, 'clock'>,
  secrets: string[] = [],
): TokenFetchError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined; // HTML error pages and the like: the status is all there is
  }
  const o = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  // RFC 6749 §5.2: an error code is a few printable ASCII characters without '"' or '\\'. Anything else
  // (an echoed token, a stack trace) is not a code and never reaches the message or the field.
  const oauthError = typeof o.error === 'string' && OAUTH_ERROR_CODE.test(o.error) ? o.error : undefined;
  const description =
    typeof o.error_description === 'string' && o.error_description !== '' ? redact(o.error_description, secrets).slice(0, 300) : undefined;
  const retryable =
    !(oauthError !== undefined && FATAL_OAUTH_ERRORS.has(oauthError)) &&
    (status >= 500 || status === 429 || status === 408 || (oauthError !== undefined && RETRYABLE_OAUTH_ERRORS.has(oauthError)));
  const retryAfterMs = retryable ? parseRetryAfter(retryAfter, context.clock.now()) : undefined;
  return new TokenFetchError(sourceMessages.httpError(source, status, oauthError, description), {
    source,
    status,
    oauthError,
    oauthErrorDescription: description,
    retryable,
    retryAfterMs,
  });
}

/**
 * A `Retry-After` header (delta-seconds or an HTTP-date, RFC 9110 §10.2.3) in ms from `now`, capped at
 * RETRY_AFTER_MAX_MS; undefined when absent or unparsable.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  let ms: number;
  if (/^\d+$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    // An HTTP-date names its day and month; without letters, Date.parse would take "1.5" or "-5" for a date.
    if (!/[a-z]/i.test(trimmed)) return undefined;
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(Math.max(0, ms), RETRY_AFTER_MAX_MS);
}

/**
 * The error of a source whose fetch was aborted. The cache aborts with its own error (timeout, shutdown):
 * passed through so the message names the cause; any other reason becomes a retryable `aborted` error.
 */
export function abortedError(source: string, signal: AbortSignal): TokenCacheError {
  if (signal.reason instanceof TokenCacheError) return signal.reason;
  return new TokenFetchError(sourceMessages.aborted(source), { source, retryable: true });
}

/** A fetch that threw: aborted (timeout, shutdown) or a network error. Both retryable. */
function transportError(error: unknown, source: string, signal: AbortSignal): TokenCacheError {
  if (signal.aborted) return abortedError(source, signal);
  const e = error as { message?: string; cause?: { code?: string; message?: string } };
  const detail = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(error);
  return new TokenFetchError(sourceMessages.network(source, detail), { source, retryable: true, cause: error });
}

/** Whatever openid-client threw, as one of our errors: ours come back wrapped in its ClientError's `cause`. */
function toTypedError(error: unknown, source: string, signal: AbortSignal, secrets: string[]): TokenCacheError {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && e !== null && typeof e === 'object'; depth++) {
    if (e instanceof TokenCacheError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  if (signal.aborted) return transportError(error, source, signal);
  // Thrown before a reply was read (a key openid-client can't use, a bad parameter): retrying won't help.
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new TokenFetchError(sourceMessages.clientLibrary(source, redact(detail, secrets)), { source, retryable: false });
}

function validateExtraParams(option: string, value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TokenCacheConfigError(option, messages.config(option, `expected an object of string values, got ${describeValue(value)}`));
  }
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (RESERVED_PARAMS.has(name)) {
      throw new TokenCacheConfigError(`${option}.${name}`, messages.config(`${option}.${name}`, 'is set by the source itself; remove it'));
    }
    if (typeof v !== 'string') {
      throw new TokenCacheConfigError(`${option}.${name}`, messages.config(`${option}.${name}`, `expected a string, got ${describeValue(v)}`));
    }
    out[name] = v;
  }
  return out;
}

/** A scope option (`'a b'` or `['a', 'b']`) as a list; TokenCacheConfigError naming `option` when malformed. */
export function parseScopeOption(option: string, value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === 'string' ? value.split(/\s+/).filter(Boolean) : value;
  if (!Array.isArray(list) || list.some((s) => typeof s !== 'string' || s.trim() === '' || /\s/.test(s))) {
    throw new TokenCacheConfigError(
      option,
      messages.config(option, `expected a space-separated string or an array of scope names, got ${describeValue(value)}`),
    );
  }
  return list.length > 0 ? [...(list as string[])] : undefined;
}

interface LoadedKey {
  pkcs8: Buffer;
  /** The key's text as given (a PEM, a JWK's private parts): redacted like a client secret. */
  secrets: string[];
  algorithm: webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | webcrypto.Algorithm;
  kid?: string;
}

const RSA_ALGS: Record<string, webcrypto.RsaHashedImportParams> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  RS384: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384' },
  RS512: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-512' },
  PS256: { name: 'RSA-PSS', hash: 'SHA-256' },
  PS384: { name: 'RSA-PSS', hash: 'SHA-384' },
  PS512: { name: 'RSA-PSS', hash: 'SHA-512' },
};
const EC_CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/** Reads a private key at once, so a bad key is a TokenCacheConfigError at startup, not a failed fetch. */
function loadPrivateKey(option: string, input: unknown): LoadedKey {
  const fail = (problem: string): never => {
    throw new TokenCacheConfigError(option, messages.config(option, problem));
  };
  if (input === undefined || input === null) return fail("required for authMethod 'private_key_jwt' (a PEM string, a private JWK, a KeyObject or a CryptoKey)");
  let material: unknown = input;
  let kid: string | undefined;
  let alg: string | undefined;
  if (typeof input === 'object' && !(input instanceof KeyObject) && !Buffer.isBuffer(input) && 'key' in input && !isCryptoKey(input)) {
    ({ key: material, kid, alg } = input as PrivateKeyWithId);
  }
  const secrets: string[] = [];
  if (typeof material === 'string') secrets.push(material.trim());
  if (material !== null && typeof material === 'object' && !(material instanceof KeyObject) && !Buffer.isBuffer(material) && !isCryptoKey(material)) {
    for (const part of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const) {
      const v = (material as Record<string, unknown>)[part];
      if (typeof v === 'string') secrets.push(v);
    }
  }
  let keyObject: KeyObject;
  try {
    if (material instanceof KeyObject) keyObject = material;
    else if (isCryptoKey(material)) keyObject = KeyObject.from(material);
    else if (typeof material === 'string' || Buffer.isBuffer(material)) keyObject = createPrivateKey(material);
    else if (material !== null && typeof material === 'object') {
      const jwk = material as webcrypto.JsonWebKey & { kid?: string; alg?: string };
      kid ??= jwk.kid;
      alg ??= jwk.alg;
      keyObject = createPrivateKey({ key: jwk as never, format: 'jwk' });
    } else return fail(`expected a PEM string, a private JWK, a KeyObject or a CryptoKey, got ${describeValue(material)}`);
  } catch {
    return fail('could not be read as a private key (PEM, JWK, KeyObject or CryptoKey)');
  }
  if (keyObject.type !== 'private') return fail('is not a private key');
  const pkcs8 = keyObject.export({ format: 'der', type: 'pkcs8' });
  switch (keyObject.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss': {
      const algorithm = RSA_ALGS[alg ?? (keyObject.asymmetricKeyType === 'rsa-pss' ? 'PS256' : 'RS256')];
      if (algorithm === undefined) return fail(`"alg" ${alg} does not fit an RSA key (use RS256/384/512 or PS256/384/512)`);
      return { pkcs8, secrets, algorithm, kid };
    }
    case 'ec': {
      const namedCurve = EC_CURVES[keyObject.asymmetricKeyDetails?.namedCurve ?? ''];
      if (namedCurve === undefined) return fail('uses an EC curve other than P-256, P-384 or P-521');
      return { pkcs8, secrets, algorithm: { name: 'ECDSA', namedCurve }, kid };
    }
    case 'ed25519':
      return { pkcs8, secrets, algorithm: { name: 'Ed25519' }, kid };
    default:
      return fail(`has an unsupported key type "${keyObject.asymmetricKeyType}" (use RSA, EC P-256/384/521 or Ed25519)`);
  }
}

/** `CryptoKey` is a global from Node 20 on (not on `webcrypto` there). */
function isCryptoKey(value: unknown): value is webcrypto.CryptoKey {
  const CryptoKeyClass = (globalThis as { CryptoKey?: abstract new () => unknown }).CryptoKey;
  return CryptoKeyClass !== undefined && value instanceof CryptoKeyClass;
}
