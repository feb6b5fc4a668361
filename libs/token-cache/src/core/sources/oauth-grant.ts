/**
 * The one OAuth client every grant source shares (`clientCredentials`, `refreshTokenGrant`, `tokenExchange`,
 * `jwtBearer`): where the token endpoint is (`tokenUrl`, or `issuer` discovery), how the client
 * authenticates (secret, private key JWT, client assertion, mTLS), and how the request leaves the process
 * (proxy variables, `tls`, a `fetch` of your own). Each grant is a file of its own that only says which
 * `grant_type` and parameters it sends.
 *
 * oauth4webapi builds and authenticates the request (RFC 6749 §2.3.1 form encoding for client_secret_basic,
 * a fresh `jti` per private_key_jwt assertion, mTLS endpoint aliases) and hands back the raw reply. The reply
 * is classified by this file, not by oauth4webapi's strict processors, because this library's contract
 * differs from their checks: we need the status and `Retry-After` of every failure (the body's OAuth error
 * even behind a `WWW-Authenticate` header), an `expires_in` like `"3600abc"` must be rejected, and a missing
 * `token_type`, an RFC 8693 `issued_token_type` or an `id_token` we don't check must not fail an otherwise
 * good token. The body is read with a byte limit (`readBoundedText`, `maxResponseBytes`), in its dialect
 * (JSON or form-encoded, `parseTokenEndpointBody`); a 2xx reply with `error` is classified like the same
 * error on a 400.
 */
import { allowInsecureRequests, customFetch, genericTokenEndpointRequest, type CustomFetchOptions } from 'oauth4webapi';
import { RETRY_AFTER_MAX_MS } from '../backoff.js';
import { asksForTokenEndpointNonce, resolveDPoPOption, TokenEndpointDPoP, type DPoPOption } from '../dpop/index.js';
import { escapeControls } from '../redact.js';
import { redact, TokenCacheConfigError, TokenCacheError, TokenFetchError, TokenResponseError } from '../token-cache.errors.js';
import { messages } from '../token-cache.messages.js';
import type { TokenRequest, TokenResponse } from '../token-cache.types.js';
import { isErrorReply, parseTokenEndpointBody, tokenResponseFromFields } from '../token-response.js';
import { assertKnownOptions, assertNonEmptyString, assertPositiveInt, assertTimerMs, assertUrl, describeValue } from '../validate.js';
import { DEFAULT_MAX_RESPONSE_BYTES, readBoundedText, ReplyTooLargeError } from './bounded-body.js';
import { OAUTH_CLIENT_OPTION_NAMES } from './source-options.js';
import {
  ALL_AUTH_METHODS,
  createClientAuthentication,
  type ClientAuthentication,
  type OAuthAuthMethod,
  type PrivateKeyMaterial,
  type PrivateKeyWithId,
} from './oauth-client-auth.js';
import { EndpointResolver } from './oauth-discovery.js';
import { createOAuthTransport, proxyRefusal, type OAuthFetch, type OAuthTlsOptions, type OAuthTransport } from './oauth-egress.js';
import type { TokenFetchContext } from './token-source.interface.js';
import { sourceMessages } from './token-sources.messages.js';

export type { OAuthAuthMethod, PrivateKeyMaterial, PrivateKeyWithId } from './oauth-client-auth.js';
export type { OAuthFetch, OAuthTlsOptions } from './oauth-egress.js';

/** Options common to the OAuth 2 grant sources. One of `tokenUrl` / `issuer` is required. */
export interface OAuthClientOptions {
  /** The token endpoint, e.g. `https://idp.example.com/oauth2/token`. Plain `http:` is allowed (for local IdPs). */
  tokenUrl?: string;
  /**
   * The authorization server's issuer identifier (a Keycloak realm URL, an Entra tenant's `…/v2.0`, an
   * Okta/Auth0 domain). Alone, the token endpoint comes from discovery (`<issuer>/.well-known/openid-configuration`,
   * then RFC 8414 `/.well-known/oauth-authorization-server`) on the first fetch, kept afterwards. With
   * `tokenUrl`, no discovery: it is only the `aud` of `private_key_jwt` assertions (default `tokenUrl`,
   * RFC 7523 §3). `http:` only for loopback issuers (local IdPs, tests).
   */
  issuer?: string;
  clientId: string;
  clientSecret?: string;
  authMethod?: OAuthAuthMethod;
  /** For `authMethod: 'private_key_jwt'`. */
  privateKey?: PrivateKeyMaterial | PrivateKeyWithId;
  /**
   * For `authMethod: 'client_assertion'` (workload identity federation): the assertion sent as
   * `client_assertion` with `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
   * A string; a function called for every token request; or `{ path }`, a file read afresh for every token
   * request (a Kubernetes projected service-account token, rotated by the kubelet).
   */
  clientAssertion?: string | (() => string | Promise<string>) | { path: string };
  /**
   * TLS for the token endpoint connection: `cert` + `key` (+ `passphrase`) present a client certificate
   * (required by `tls_client_auth` / `self_signed_tls_client_auth`, RFC 8705); `ca` is trusted with any `authMethod`.
   */
  tls?: OAuthTlsOptions;
  /**
   * A `fetch` of your own for token requests (and discovery): it replaces the transport entirely (proxy
   * variables and `tls` are then yours to apply). Default: undici's `fetch` honouring `HTTPS_PROXY` /
   * `HTTP_PROXY` / `NO_PROXY` (either case) and `tls`.
   */
  fetch?: OAuthFetch;
  /**
   * More form parameters sent with every token request, e.g. `{ tenant: 'a' }`. Values of parameters whose
   * name looks secret (`password`, `api_key`, `subscription-key`, `…secret…`, `…token…`, `…assertion…`,
   * `…credential…`, `…signature…`, `pwd`, `pin`) are treated like the client secret: redacted, in every
   * encoding, from every message, log line and error.
   */
  extraParams?: Record<string, string>;
  /** Fetch timeout in ms; default the cache's `fetchTimeoutMs`. */
  timeoutMs?: number;
  /**
   * DPoP (RFC 9449): `true` makes an ES256 key pair for this source at start; `{ privateKey, publicKey?, alg? }`
   * uses yours. Token requests then carry a proof, the IdP's `use_dpop_nonce` is answered with one retry, and
   * the tokens are bound to the key (`token_type: DPoP`). Default off.
   */
  dpop?: DPoPOption;
  /**
   * Largest reply body read, in bytes. A larger reply is abandoned (its connection closed) as a
   * TokenResponseError, so a misrouted download or an endless body never fills memory. Default 1_048_576.
   */
  maxResponseBytes?: number;
}

/** `extraParams` names whose values are secrets (redacted like the client secret). */
const SECRET_PARAM_NAME = /pass|pwd|secret|key|token|assertion|credential|signature|^pin$|auth/i;

/** Parameters the grant itself sets: `extraParams` may not override them. */
const RESERVED_PARAMS = new Set([
  'grant_type',
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
  'refresh_token',
  'subject_token',
  'subject_token_type',
  'actor_token',
  'actor_token_type',
  'assertion',
]);

/** OAuth error codes that say "try again later" whatever the status. */
const RETRYABLE_OAUTH_ERRORS = new Set(['temporarily_unavailable', 'server_error', 'slow_down']);
/** OAuth error codes that never heal by waiting, whatever the status. */
const FATAL_OAUTH_ERRORS = new Set(['invalid_client', 'unauthorized_client', 'invalid_grant', 'unsupported_grant_type']);

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/** A validated OAuth client: sends token requests, classifies replies. */
export class OAuthGrantClient {
  /** The configured token endpoint; undefined when it comes from discovery. */
  readonly tokenUrl?: string;
  readonly issuer?: string;
  readonly clientId?: string;
  readonly authMethod: OAuthAuthMethod;
  readonly extraParams: Readonly<Record<string, string>>;
  private readonly extraSecrets: string[];
  readonly timeoutMs?: number;
  readonly maxResponseBytes: number;
  private readonly insecure: boolean;
  private readonly transport: OAuthTransport;
  private readonly endpoint: EndpointResolver;
  private readonly authentication: ClientAuthentication;
  private readonly dpopSecrets: string[] = [];
  /** The source's DPoP key and openid-client handle, when `dpop` is set. */
  readonly dpop?: TokenEndpointDPoP;

  /**
   * Validates the options at once: bad ones throw TokenCacheConfigError naming `<factory>.<option>`.
   * `clientIdRequired: false` (jwtBearer): without `clientId` the assertion alone authenticates.
   */
  constructor(
    factory: string,
    options: OAuthClientOptions,
    defaultAuthMethod: OAuthAuthMethod,
    allowedMethods: readonly OAuthAuthMethod[] = ALL_AUTH_METHODS,
    { clientIdRequired = true, grantOptions }: { clientIdRequired?: boolean; grantOptions?: readonly string[] } = {},
  ) {
    if (options === null || typeof options !== 'object') {
      throw new TokenCacheConfigError(factory, messages.config(factory, `expected an options object, got ${describeValue(options)}`));
    }
    // A misspelt option (`tokenURL`, `subjectTokenTyp`) fails at start instead of being silently ignored.
    if (grantOptions !== undefined) assertKnownOptions(options, [...OAUTH_CLIENT_OPTION_NAMES, ...grantOptions], `${factory}.`);
    if (options.tokenUrl === undefined && options.issuer === undefined) {
      throw new TokenCacheConfigError(`${factory}.tokenUrl`, messages.config(`${factory}.tokenUrl`, 'one of "tokenUrl" or "issuer" is required'));
    }
    if (options.tokenUrl !== undefined) assertEndpointUrl(`${factory}.tokenUrl`, options.tokenUrl);
    if (options.issuer !== undefined) assertEndpointUrl(`${factory}.issuer`, options.issuer);
    if (options.tokenUrl === undefined && options.issuer !== undefined) {
      const url = new URL(options.issuer);
      if (url.protocol === 'http:' && !LOOPBACK.test(url.hostname)) {
        throw new TokenCacheConfigError(
          `${factory}.issuer`,
          messages.config(`${factory}.issuer`, 'must be https: (plain http: is allowed only for a loopback issuer, such as a local test IdP)'),
        );
      }
      if (url.search !== '' || url.hash !== '') {
        throw new TokenCacheConfigError(`${factory}.issuer`, messages.config(`${factory}.issuer`, 'must not have a query or fragment (RFC 8414 §2)'));
      }
    }
    if (clientIdRequired || options.clientId !== undefined) assertNonEmptyString(`${factory}.clientId`, options.clientId);
    assertTimerMs(`${factory}.timeoutMs`, options.timeoutMs);
    assertPositiveInt(`${factory}.maxResponseBytes`, options.maxResponseBytes);
    const authMethod = options.authMethod ?? defaultAuthMethod;
    if (!allowedMethods.includes(authMethod)) {
      throw new TokenCacheConfigError(
        `${factory}.authMethod`,
        messages.config(`${factory}.authMethod`, `expected one of ${allowedMethods.map((m) => `'${m}'`).join(', ')}, got ${describeValue(authMethod)}`),
      );
    }
    this.tokenUrl = options.tokenUrl;
    this.issuer = options.issuer;
    this.clientId = options.clientId;
    this.authMethod = authMethod;
    this.timeoutMs = options.timeoutMs;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.extraParams = validateExtraParams(`${factory}.extraParams`, options.extraParams);
    this.extraSecrets = Object.entries(this.extraParams)
      .filter(([name]) => SECRET_PARAM_NAME.test(name))
      .map(([, value]) => value);
    this.insecure = new URL(options.tokenUrl ?? options.issuer!).protocol === 'http:';
    this.transport = createOAuthTransport(factory, options.tls, options.fetch);
    const dpop = resolveDPoPOption(`${factory}.dpop`, options.dpop);
    if (dpop !== undefined) {
      this.dpop = new TokenEndpointDPoP(dpop.key);
      this.dpopSecrets.push(...dpop.secrets);
    }
    this.authentication = createClientAuthentication(factory, authMethod, options, this.transport);
    this.endpoint = new EndpointResolver({
      issuer: options.issuer,
      tokenUrl: options.tokenUrl,
      insecure: this.insecure,
      fetch: (url, init) => this.transport.fetch(url, init),
      readBody: (response) => readBoundedText(response, this.maxResponseBytes),
    });
  }

  /**
   * The client secret, private key, TLS key, a fixed assertion (if any) and secret-looking `extraParams`
   * values: redacted from every message.
   */
  secrets(): string[] {
    return [...this.authentication.secrets, ...this.transport.secrets(), ...this.dpopSecrets, ...this.extraSecrets];
  }

  /** Closes the connections of the default transport. */
  close(): Promise<void> {
    return this.transport.close();
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
   * Runs one grant (`grant_type` and its own parameters in `params`). Resolves with the parsed token
   * response (including any `refreshToken`); rejects with a TokenFetchError (no usable reply, discovery
   * failed, assertion unreadable) or TokenResponseError (a 2xx reply that can't be used).
   * `extraSecrets` (a refresh token, a subject token, an assertion) are redacted from messages too.
   */
  async grant(
    grantType: string,
    params: URLSearchParams,
    request: TokenRequest,
    context: TokenFetchContext,
    extraSecrets: string[] = [],
  ): Promise<TokenResponse> {
    const source = request.source;
    let secrets = [...this.secrets(), ...extraSecrets];
    const { signal } = context;
    let parsed: TokenResponse | undefined;
    try {
      const as = await this.endpoint.resolve(source, signal);
      const { auth, secrets: perRequest } = await this.authentication.forRequest(request);
      secrets = [...secrets, ...perRequest];
      const client = {
        client_id: this.clientId ?? 'jwt-bearer',
        // RFC 8705 §5: a client authenticating with its certificate uses the metadata's mTLS endpoint aliases.
        use_mtls_endpoint_aliases: this.authMethod === 'tls_client_auth' || this.authMethod === 'self_signed_tls_client_auth',
      };
      const DPoP = this.dpop === undefined ? undefined : await this.dpop.handle(client);
      // RFC 9449 §8: the first reply asking for a nonce is answered by sending again (the handle keeps the
      // nonce); a second one is an error like any other.
      let nonceAsked = false;
      for (let attempt = 0; attempt < 2 && parsed === undefined; attempt++) {
        const asked = nonceAsked;
        await genericTokenEndpointRequest(as, client, auth, grantType, params, {
          signal,
          DPoP,
          [allowInsecureRequests]: this.insecure,
          [customFetch]: async (url: string, init: CustomFetchOptions<'POST', URLSearchParams>) => {
            const reply = await this.send(url, init, source, context, secrets, DPoP !== undefined && !asked, grantType);
            if (reply.parsed === undefined) nonceAsked = true;
            else parsed = reply.parsed;
            return reply.response;
          },
        });
        if (!nonceAsked) break;
      }
    } catch (error) {
      throw toTypedError(error, source, signal, secrets);
    }
    return parsed!;
  }

  /** Sends the request with the cache's signal and classifies the reply. */
  private async send(
    url: string,
    init: CustomFetchOptions<'POST', URLSearchParams>,
    source: string,
    context: TokenFetchContext,
    secrets: string[],
    nonceRetry = false,
    grantType?: string,
  ): Promise<{ response: Response; parsed?: TokenResponse }> {
    const { signal } = context;
    let res: Response;
    try {
      res = await this.transport.fetch(url, { method: init.method, headers: init.headers, body: init.body, redirect: init.redirect, signal });
    } catch (error) {
      throw transportError(error, source, signal, url);
    }
    let text: string;
    try {
      text = await readBoundedText(res, this.maxResponseBytes);
    } catch (error) {
      if (signal.aborted) throw transportError(error, source, signal);
      if (res.ok) {
        const problem = error instanceof ReplyTooLargeError ? sourceMessages.tooLarge(this.maxResponseBytes) : sourceMessages.truncated();
        throw new TokenResponseError(messages.badResponse(source, problem), source);
      }
      text = ''; // an error reply cut short or too large: its status still says enough
    }
    if (!res.ok && nonceRetry && asksForTokenEndpointNonce(res.status, res.headers, text)) {
      return { response: new Response(text, { status: res.status, headers: res.headers }) };
    }
    const contentType = res.headers.get('content-type');
    if (!res.ok) throw httpError(res.status, res.headers.get('retry-after'), text, source, context, secrets, contentType, res.status, grantType);
    const fields = parseTokenEndpointBody(text, contentType, source);
    // Some IdPs answer 200 with an RFC 6749 §5.2 error body: the same error as on a 400, not a bad reply.
    if (isErrorReply(fields)) throw httpError(res.status, res.headers.get('retry-after'), fields, source, context, secrets, contentType, 400, grantType);
    const parsed: TokenResponse = tokenResponseFromFields(fields, source);
    // oauth4webapi gets the reply as JSON whatever its dialect was (status and headers kept for its DPoP nonce
    // bookkeeping); our parse above is the one that counts.
    const headers = new Headers(res.headers);
    headers.set('content-type', 'application/json');
    headers.delete('content-length');
    headers.delete('content-encoding');
    return { response: new Response(asJson(fields, text), { status: res.status, headers }), parsed };
  }
}

/**
 * The reply's fields as JSON for oauth4webapi. A form reply is flat; a JSON reply with an extra field nested
 * thousands of levels deep (which `JSON.parse` reads but `JSON.stringify` overflows the stack on) is passed
 * on as it came: it was JSON.
 */
function asJson(fields: Record<string, unknown>, text: string): string {
  try {
    return JSON.stringify(fields);
  } catch {
    return text;
  }
}

/** An absolute http(s) URL without user info (a password in a URL would end up in messages and logs). */
function assertEndpointUrl(option: string, value: unknown): asserts value is string {
  assertUrl(option, value);
  const url = new URL(value);
  if (url.username !== '' || url.password !== '') {
    throw new TokenCacheConfigError(option, messages.config(option, 'must not hold user info ("user:password@"): put the client id and secret in "clientId" / "clientSecret"'));
  }
}


const OAUTH_ERROR_CODE = /^[\x20\x21\x23-\x5B\x5D-\x7E]{1,64}$/;

/**
 * The TokenFetchError for an error reply (RFC 6749 §5.2 error body, JSON or form-encoded, where there is one).
 * `body` is the reply text or its already parsed fields; `classifyAs` is the status whose rules decide
 * retryability (a 2xx reply with `error` is classified as a 400 would be), `status` is reported as sent.
 * `grantType` picks the hint of an `invalid_grant` (what was rejected: a refresh token, a subject token, an assertion).
 */
export function httpError(
  status: number,
  retryAfter: string | null,
  body: string | Record<string, unknown>,
  source: string,
  context: Pick<TokenFetchContext, 'clock'>,
  secrets: string[] = [],
  contentType: string | null = null,
  classifyAs: number = status,
  grantType?: string,
): TokenFetchError {
  let o: Record<string, unknown> = {};
  if (typeof body !== 'string') o = body;
  else {
    try {
      o = parseTokenEndpointBody(body, contentType, source);
    } catch {
      // HTML error pages and the like: the status is all there is
    }
  }
  // RFC 6749 §5.2: an error code is a few printable ASCII characters without '"' or '\\'. Anything else
  // (an echoed token, a stack trace) is not a code and never reaches the message or the field; nor does a
  // "code" that holds a secret.
  const code = typeof o.error === 'string' && OAUTH_ERROR_CODE.test(o.error) ? o.error : undefined;
  const oauthError = code !== undefined && redact(code, secrets) === code ? code : undefined;
  const description =
    typeof o.error_description === 'string' && o.error_description !== '' ? escapeControls(redact(o.error_description, secrets).slice(0, 300)) : undefined;
  const retryable =
    !(oauthError !== undefined && FATAL_OAUTH_ERRORS.has(oauthError)) &&
    (classifyAs >= 500 ||
      classifyAs === 429 ||
      classifyAs === 408 ||
      (oauthError !== undefined && RETRYABLE_OAUTH_ERRORS.has(oauthError)));
  const retryAfterMs = retryable ? parseRetryAfter(retryAfter, context.clock.now()) : undefined;
  return new TokenFetchError(sourceMessages.httpError(source, status, oauthError, description, grantType), {
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
function transportError(error: unknown, source: string, signal: AbortSignal, url?: string): TokenCacheError {
  if (signal.aborted) return abortedError(source, signal);
  const refused = url === undefined ? undefined : proxyRefusal(error, url);
  if (refused !== undefined) {
    // A gateway error of the proxy may pass; a refusal (403, 407) is configuration: back off like other 4xx.
    const retryable = refused.status >= 500 || refused.status === 429;
    return new TokenFetchError(sourceMessages.proxyRefused(source, refused.proxy, refused.status, new URL(url!).host), { source, retryable, cause: error });
  }
  return new TokenFetchError(sourceMessages.network(source, networkDetail(error)), { source, retryable: true, cause: error });
}

/** The most telling part of a network error: the first string `code` in its cause chain (`ECONNREFUSED`), else the innermost message. */
function networkDetail(error: unknown): string {
  let e: unknown = error;
  let message = String(error);
  for (let depth = 0; depth < 6 && e !== null && typeof e === 'object'; depth++) {
    const { code, message: m, cause } = e as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof code === 'string' && code !== '') return code;
    if (typeof m === 'string' && m !== '') message = m;
    e = cause;
  }
  return message;
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

