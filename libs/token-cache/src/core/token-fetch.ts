/**
 * `tokenFetch`: a function with the signature of the global `fetch` that puts a cached token on each request
 * and, when the API rejects it, invalidates exactly the token it sent and sends the request once more with
 * the next one (the body replayed when it can be). The retry rules are the shared ones (token-retry.ts), as
 * for the axios client.
 */
import { presentationFor } from './dpop/dpop-presentation.js';
import type { TokenCacheRequestOptions } from './token-cache.axios.js';
import { TokenCacheConfigError } from './token-cache.errors.js';
import { interceptorMessages } from './token-cache.interceptor.messages.js';
import type { TokenParams } from './token-cache.types.js';
import { ATTACH_OPTION_NAMES, requestParams, resolveClientOptions, type TokenClientKeyOptions } from './token-client-options.js';
import { isPromise, isReplayableBody, retryDecision, TokenRenewal, verdictOf, type TokenAttemptRequest, type TokenCacheLike } from './token-retry.js';
import { abortReason, endableWait, onAbort, paced } from './token-wait.js';
import { describeValue, optionNames } from './validate.js';

type HeadersInit = ConstructorParameters<typeof Headers>[0];

/** Options of `tokenFetch(cache, options)`. */
export interface TokenFetchOptions extends TokenClientKeyOptions {
  /** The fetch that sends the requests (undici's with a dispatcher, a tracing wrapper…). Default the global `fetch`, looked up per call. */
  fetch?: typeof fetch;
  /** Relative URLs (`'/orders'`, `'orders'`) are resolved against it, as `new URL(input, baseURL)` does. Default none. */
  baseURL?: string | URL;
}

/** The option names of `tokenFetch()`. */
const TOKEN_FETCH_OPTION_NAMES = optionNames<TokenFetchOptions>()(...(ATTACH_OPTION_NAMES as readonly (keyof TokenClientKeyOptions)[]), 'fetch', 'baseURL');

/** `RequestInit` plus the per-request options of the token client. */
export interface TokenFetchInit extends RequestInit {
  /** `true`: the request is sent as it is: no token, no retry. Default false. */
  skipTokenCache?: boolean;
  /** The token key for this request only; each field given replaces the client's. */
  tokenCache?: TokenCacheRequestOptions;
}

/** A function with the signature of the global `fetch` (assignable to `typeof fetch`). */
export type TokenFetch = (input: string | URL | Request, init?: TokenFetchInit) => Promise<Response>;

/**
 * Makes a `fetch` that carries tokens of `options.source` from `cache`.
 *
 * - Adds `Authorization: Bearer <token>` (header and scheme configurable) unless the request already has that
 *   header, or `init.skipTokenCache` is true.
 * - A reply with status 401 or a `WWW-Authenticate: Bearer error="invalid_token"` challenge (RFC 6750 §3.1, any
 *   status) invalidates the token that request carried (compare-and-invalidate) and the request is sent once
 *   more with the next token; concurrent rejections of one token make one refetch. A `ReadableStream` (or
 *   async iterable) body is not sent twice: that reply goes to the caller, the token is still invalidated.
 * - Resolves with the `Response` as `fetch` does, a second 401 included; rejects when no token can be had
 *   (the cache's `TokenFetchError`, and nothing is sent), on bad per-request options (`TokenCacheConfigError`)
 *   or when the network fails (the fetch's own error).
 * - The request's signal (`init.signal`, else a `Request`'s own) ends a wait for a token at once, before the
 *   first attempt and before the retry: it rejects with the signal's `reason` as `fetch` does (an `AbortError`
 *   `DOMException`, a `TimeoutError` from `AbortSignal.timeout`), sends nothing, and leaves the token fetch
 *   running for other callers (the token still lands in the cache).
 * - A `FormData` body is encoded once (`new Response(form)`), so a retry sends the same bytes under the same
 *   multipart boundary.
 *
 * Throws `TokenCacheConfigError` at once for bad options, `UnknownTokenSourceError` for an unknown source.
 */
export function tokenFetch(cache: TokenCacheLike, options: TokenFetchOptions): TokenFetch {
  if (cache === null || typeof cache !== 'object' || typeof cache.getToken !== 'function' || typeof cache.invalidate !== 'function') {
    throw new TokenCacheConfigError('cache', interceptorMessages.badFetchCache(describeValue(cache)));
  }
  const client = resolveClientOptions(options, TOKEN_FETCH_OPTION_NAMES);
  const { source, header } = client;
  // A DPoP source (RFC 9449): `Authorization: DPoP` and a proof per attempt, nonce retries.
  const presentation = presentationFor(cache, source, header, client.presentation);
  const ownFetch = options.fetch;
  if (ownFetch !== undefined && typeof ownFetch !== 'function') {
    throw new TokenCacheConfigError('fetch', interceptorMessages.badFetch(describeValue(ownFetch)));
  }
  const baseURL = resolveBaseUrl(options.baseURL);
  cache.peek?.(source, client.params);
  const renewal = new TokenRenewal(cache, source);
  const resolved = new Map<string, string>();
  const send = (input: string | URL | Request, init: RequestInit | undefined): Promise<Response> =>
    ownFetch !== undefined ? ownFetch(input, init) : globalThis.fetch(input, init);

  /** One attempt: the token's headers over the request's own. */
  const attempt = (target: string | URL | Request, init: RequestInit, base: HeadersInit | undefined, token: string, request: TokenAttemptRequest): Promise<Response> => {
    const values = presentation.headers(token, request);
    // Not async on the hot path: a presentation that signs (DPoP) may take a turn, a Bearer one does not.
    return isPromise(values) ? values.then((v) => sendWith(target, init, base, v)) : sendWith(target, init, base, values);
  };
  const sendWith = (target: string | URL | Request, init: RequestInit, base: HeadersInit | undefined, values: Record<string, string>): Promise<Response> => {
    // No headers of the request's own: the token's are all there is (fetch builds its Headers from them).
    if (base === undefined || base === null) return send(target, { ...init, headers: values });
    const headers = new Headers(base);
    // Every header the presentation owns is its own on each attempt: cleared, then set as given.
    for (const name of presentation.headerNames) headers.delete(name);
    for (const name of Object.keys(values)) headers.set(name, values[name]!);
    return send(target, { ...init, headers });
  };

  return async (input, init) => {
    let rest: RequestInit | undefined = init;
    let perRequest: unknown;
    if (init !== undefined && init !== null) {
      const { skipTokenCache, tokenCache, ...others } = init;
      rest = others;
      if (skipTokenCache === true) return send(resolveInput(input, baseURL, resolved), rest);
      perRequest = tokenCache;
    }
    const target = resolveInput(input, baseURL, resolved);
    const isRequest = typeof Request !== 'undefined' && target instanceof Request;
    let base = rest?.headers ?? (isRequest ? (target as Request).headers : undefined);
    if (hasHeader(base, header)) return send(target, rest);
    const params: TokenParams | undefined = requestParams(client, perRequest);
    // The signal fetch would follow: init's (null: none), else the Request's own. Aborted, or aborting while
    // a token is awaited: rejected with its reason as fetch would, nothing sent, the token fetch left running.
    const signal = rest?.signal !== undefined ? rest.signal : isRequest ? (target as Request).signal : undefined;
    if (signal?.aborted === true) throw abortReason(signal);
    const acquired = renewal.acquire(params);
    const token = typeof acquired === 'string' ? acquired : await untilAborted(acquired.then((t) => paced(t)), signal);

    const request: TokenAttemptRequest = {
      method: (rest?.method ?? (isRequest ? (target as Request).method : 'GET')).toUpperCase(),
      url: isRequest ? (target as Request).url : String(target),
      params,
    };
    // A Request's body is read by the first attempt: keep a clone for the retry, unless it is a stream.
    const body = rest?.body;
    const replayable = body !== undefined && body !== null ? isReplayableBody(body) : !isRequest || requestBodyReplayable(target as Request);
    const spare = isRequest && replayable && (body === undefined || body === null) && (target as Request).body !== null ? (target as Request).clone() : undefined;

    let init1 = rest ?? {};
    if (typeof FormData !== 'undefined' && body instanceof FormData) {
      // fetch picks a random multipart boundary each time it encodes a FormData: encoded once here, both
      // attempts send the same bytes under the same Content-Type (APIs that sign or digest the body).
      const encoded = new Response(body);
      init1 = { ...init1, body: new Uint8Array(await encoded.arrayBuffer()) };
      const headers = new Headers(base);
      if (!headers.has('content-type')) headers.set('content-type', encoded.headers.get('content-type')!);
      base = headers;
    }
    const response = await attempt(target, init1, base, token, request);
    const verdict = verdictOf(presentation, response.status, (name) => response.headers.get(name) ?? undefined, request);
    const decision = retryDecision(verdict, false, replayable);
    if (decision === 'return') return response;
    if (decision === 'invalidate') {
      await renewal.invalidate(params, token);
      return response;
    }
    // The first reply is dropped: release its body so its connection is freed.
    response.body?.cancel().catch(() => undefined);
    const next = decision === 'renew-and-retry' ? await untilAborted(renewal.renew(params, token).then((t) => paced(t)), signal) : token;
    const retried = await attempt(spare ?? target, init1, base, next, request);
    // The scheme sees the retry's reply too (a DPoP server may send a new nonce with it); no second retry.
    if (presentation.classify !== undefined) verdictOf(presentation, retried.status, (name) => retried.headers.get(name) ?? undefined, request);
    return retried;
  };
}

/** A token wait the request's signal can end (rejecting with its reason); the token fetch itself goes on. */
function untilAborted(pending: Promise<string>, signal: AbortSignal | null | undefined): Promise<string> {
  return signal === undefined || signal === null ? pending : endableWait(pending, [onAbort(signal, () => abortReason(signal))]);
}

function resolveBaseUrl(baseURL: unknown): URL | undefined {
  if (baseURL === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = typeof baseURL === 'string' || baseURL instanceof URL ? new URL(baseURL) : undefined;
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new TokenCacheConfigError('baseURL', interceptorMessages.badBaseUrl(describeValue(baseURL)));
  }
  return url;
}

/** How many resolved paths a client remembers (a client calls a handful of paths; parsing a URL costs microseconds). */
const RESOLVED_PATHS = 256;

/**
 * A string input is resolved against `baseURL` (an absolute one stays as it is); URL and Request pass through.
 * Results are remembered per client in `memo` (cleared when full): resolving is pure, and on a warm call it was
 * the largest cost of the client's own.
 */
function resolveInput(input: string | URL | Request, baseURL: URL | undefined, memo: Map<string, string>): string | URL | Request {
  if (baseURL === undefined || typeof input !== 'string') return input;
  let href = memo.get(input);
  if (href === undefined) {
    href = new URL(input, baseURL).href;
    if (memo.size >= RESOLVED_PATHS) memo.clear();
    memo.set(input, href);
  }
  return href;
}

/**
 * Whether a Request's body can be sent twice (through a clone taken before the first attempt). A body made
 * from a `ReadableStream` cannot: Node's fetch (undici) keeps the body's source, `null` for a stream, in its
 * internal state; a Request we cannot look into is cloned (its body teed) and retried.
 */
function requestBodyReplayable(request: Request): boolean {
  if (request.body === null) return true;
  const state = stateOf(request);
  return state === undefined || state.body?.source !== null;
}

function stateOf(request: Request): { body?: { source?: unknown } | null } | undefined {
  for (const symbol of Object.getOwnPropertySymbols(request)) {
    if (symbol.description === 'state') {
      const state = (request as unknown as Record<symbol, unknown>)[symbol];
      if (state !== null && typeof state === 'object' && 'body' in state) return state as { body?: { source?: unknown } | null };
    }
  }
  return undefined;
}

function hasHeader(headers: HeadersInit | undefined, name: string): boolean {
  if (headers === undefined || headers === null) return false;
  if (headers instanceof Headers) return headers.has(name);
  const lower = name.toLowerCase();
  if (Array.isArray(headers)) return headers.some((pair) => String(pair[0]).toLowerCase() === lower);
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === lower && (headers as Record<string, unknown>)[key] !== undefined) return true;
  }
  return false;
}
