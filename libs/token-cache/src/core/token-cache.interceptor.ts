/**
 * The Axios client: a request interceptor puts a cached token on every request and wraps the request's
 * adapter, so the 401 retry happens below the interceptors and the transforms. The retry resends the request
 * exactly as the adapter got it (body already transformed, headers as sent) with only the token headers
 * replaced; its reply goes up through `transformResponse` and the response interceptors once, as if the
 * first attempt had succeeded. Which token is invalidated is the one the cache handed out, recorded when the
 * interceptor ran, whatever another interceptor did to the header afterwards.
 *
 * `getAdapter` comes from the `axios` peer (one copy per app): it turns the instance's adapter setting
 * (`['xhr', 'http', 'fetch']`, a name, or a function) into the function axios itself would call.
 */
import { AxiosError, getAdapter, type AxiosAdapter, type AxiosInstance, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { TokenCacheConfigError } from './token-cache.errors.js';
import { interceptorMessages } from './token-cache.interceptor.messages.js';
import type { TokenParams } from './token-cache.types.js';
import { presentationFor } from './dpop/dpop-presentation.js';
import { requestParams, resolveClientOptions, type TokenClientKeyOptions } from './token-client-options.js';
import {
  isPromise,
  isReplayableBody,
  retryDecision,
  TokenRenewal,
  verdictOf,
  type TokenAttemptRequest,
  type TokenCacheLike,
  type TokenPresentation,
} from './token-retry.js';
import { afterMs, endableWait, onAbort, paced, type WaitEnd } from './token-wait.js';
import { describeValue } from './validate.js';

export type { TokenCacheLike } from './token-retry.js';

/** Options of `attach()` / `attachTokenCache()` / `TokenCacheModule.forFeature()`. */
export interface AttachTokenCacheOptions extends TokenClientKeyOptions {}

/**
 * axios' `AxiosInstance` as a CommonJS app's code sees it (`index.d.cts`): the same object at run time, but a type
 * unrelated to the ESM one (`index.d.ts`) this package's ES modules import.
 */
type RequireAxiosInstance = import('axios', { with: { 'resolution-mode': 'require' } }).AxiosInstance;

/**
 * What `attach()` accepts: an `AxiosInstance` (as an ESM or a CommonJS app types it), or anything holding one as
 * `axiosRef` (`@nestjs/axios`' `HttpService`).
 */
export type TokenCacheAttachTarget = AxiosInstance | RequireAxiosInstance | { readonly axiosRef: AxiosInstance | RequireAxiosInstance };

/**
 * Per-request bookkeeping, carried on the config under a string key so it survives axios' `mergeConfig` and
 * the flattening of the config before dispatch (both keep own string keys; older versions drop symbols).
 */
const ATTEMPT = '__tokenCacheAttempt';

/**
 * The token and key of a request, kept in private fields: the config is what loggers and error reporters
 * serialise (`AxiosError#toJSON`, `util.inspect`), and neither the token nor a subject token may show there.
 */
class Attempt {
  readonly #params: TokenParams | undefined;
  readonly #token: string;
  constructor(
    /** The attachment that put the token on the request: another attachment's header counts as explicit. */
    readonly owner: object,
    params: TokenParams | undefined,
    /** The token the cache handed out for this request: what a rejection invalidates. */
    token: string,
    /** The request's own adapter setting, before ours wrapped it. */
    readonly adapter: InternalAxiosRequestConfig['adapter'],
    /** The call's `timeout` budget: the deadline (`performance.now()` ms) and the request's own settings. */
    readonly budget: Budget | undefined,
    /** Whether the token was awaited (a fetch): the first attempt then gets only what is left of the budget. */
    readonly waited: boolean,
  ) {
    this.#params = params;
    this.#token = token;
  }

  // Methods, not getters: `util.inspect(config, { getters: true })` would show a getter's value.
  params(): TokenParams | undefined {
    return this.#params;
  }

  token(): string {
    return this.#token;
  }

  #signedWith: AttemptRequest | undefined;

  /** The request view the first attempt's headers were made from (a DPoP proof signs its method and URL). */
  signedWith(): AttemptRequest | undefined {
    return this.#signedWith;
  }

  sign(request: AttemptRequest | undefined): void {
    this.#signedWith = request;
  }

  toJSON(): Record<string, never> {
    return {};
  }
}

type Config = InternalAxiosRequestConfig & { [ATTEMPT]?: unknown };

/**
 * axios' `timeout` (ms) as the budget of the whole call: it starts when the token interceptor runs, so a wait
 * for a token and a retry are inside it, as they are inside the caller's own deadline. axios starts its own
 * timer only when an attempt is dispatched, with what is left.
 */
interface Budget {
  readonly deadline: number;
  readonly timeout: number;
  readonly timeoutErrorMessage: string | undefined;
}

/** A wait for a token ended by the request's signal or cancel token; axios' dispatch turns it into its own `CanceledError`. */
class RequestCanceled extends Error {
  override readonly name = 'RequestCanceled';
  constructor() {
    super('The request was canceled while it waited for a token.');
  }
}
type Headers = Config['headers'] | Record<string, unknown> | undefined;

/**
 * Installs the token interceptor on `target`; returns a function that ejects it. Other interceptors on the
 * instance are untouched. Requests already in flight keep their retry.
 */
export function attachTokenCache(target: TokenCacheAttachTarget, cache: TokenCacheLike, options: AttachTokenCacheOptions): () => void {
  const instance = resolveInstance(target);
  if (cache === null || typeof cache !== 'object' || typeof cache.getToken !== 'function' || typeof cache.invalidate !== 'function') {
    throw new TokenCacheConfigError('cache', interceptorMessages.badCache(describeValue(cache)));
  }
  const client = resolveClientOptions(options);
  const { source, header, params: baseParams } = client;
  // A DPoP source (RFC 9449): `Authorization: DPoP` and a proof per attempt, nonce retries.
  const presentation = presentationFor(cache, source, header, client.presentation);
  // Fail at attach time (bootstrap), not on the first request, when the source does not exist.
  cache.peek?.(source, baseParams);
  const renewal = new TokenRenewal(cache, source);
  const owner = {};

  const send = (config: Config, attempt: Attempt): Config | Promise<Config> => {
    config[ATTEMPT] = attempt;
    config.adapter = retryingAdapter(attempt, renewal, presentation, instance);
    const request = new AttemptRequest(instance, config);
    attempt.sign(request);
    const headers = presentation.headers(attempt.token(), request);
    if (!isPromise(headers)) return presentOn(config, presentation, headers);
    return headers.then((h) => presentOn(config, presentation, h));
  };

  // Not async: with a warm token the request goes on without waiting a turn; only a fetch is awaited.
  const onRequest = (config: Config): Config | Promise<Config> => {
    const previous = config[ATTEMPT];
    let params: TokenParams | undefined;
    let adapter: Config['adapter'];
    if (previous instanceof Attempt && previous.owner === owner) {
      // A config of ours sent again (a retry library, a caller re-sending error.config): a current token,
      // and the request's own adapter and timeout, not our wrapper and budget of last time.
      params = previous.params();
      adapter = previous.adapter;
      if (previous.budget !== undefined) {
        config.timeout = previous.budget.timeout;
        config.timeoutErrorMessage = previous.budget.timeoutErrorMessage;
      }
    } else {
      if (hasHeader(config.headers, presentation.headerNames[0] ?? header)) return config;
      params = requestParams(client, config.tokenCache);
      adapter = config.adapter;
    }
    // Canceled before: axios' dispatch throws its CanceledError, no token work is done, nothing is sent.
    if (isCanceled(config)) return refuse(config);
    const budget = budgetOf(config);
    const token = renewal.acquire(params);
    if (typeof token === 'string') return send(config, new Attempt(owner, params, token, adapter, budget, false));
    const ends = waitEnds(config, budget);
    // Paced inside the wait: a request aborted while its batch is held rejects at once and is never sent.
    const wait = endableWait(token.then((t) => paced(t)), ends);
    return wait.then(
      (t) => send(config, new Attempt(owner, params, t, adapter, budget, true)),
      (error: unknown) => {
        if (error instanceof RequestCanceled) return refuse(config);
        throw error;
      },
    );
  };

  const requestId = instance.interceptors.request.use(onRequest, undefined, {
    runWhen: (config) => config.skipTokenCache !== true,
  });

  let ejected = false;
  return () => {
    if (ejected) return;
    ejected = true;
    instance.interceptors.request.eject(requestId);
  };
}

/**
 * The adapter of one request: the real one (resolved as axios would), and after a rejected token one more
 * call of it with the same config but the token headers of the next token. What it resolves or rejects with
 * is what axios' dispatch then transforms and hands to the response interceptors, once.
 */
function retryingAdapter(attempt: Attempt, renewal: TokenRenewal, presentation: TokenPresentation, instance: AxiosInstance): AxiosAdapter {
  return (config) => {
    const real = resolveAdapter(attempt.adapter ?? instance.defaults.adapter, config);
    // Not async on the hot path: only a FormData body (encoded or given a boundary first) waits a turn.
    if (isSpecForm(config.data)) return sameFormBytes(config, real).then(() => sendAndRetry(config, real));
    if (isNodeFormData(config.data)) inMemoryFormBytes(config);
    return sendAndRetry(config, real);
  };

  function sendAndRetry(config: Config, real: AxiosAdapter, presented?: Config): Promise<AxiosResponse> {
    const retryWith = async (response: AxiosResponse, outcome: () => AxiosResponse): Promise<AxiosResponse> => {
      const verdict = verdictOf(presentation, response.status, (name) => getHeader(response.headers as Headers, name), attemptRequest(instance, config));
      const decision = retryDecision(verdict, false, isReplayableBody(config.data));
      if (decision === 'return') return outcome();
      if (decision === 'invalidate') {
        await renewal.invalidate(attempt.params(), attempt.token());
        return outcome();
      }
      discardBody(response);
      const token =
        decision === 'renew-and-retry'
          ? await endableWait(renewal.renew(attempt.params(), attempt.token()).then((t) => paced(t)), waitEnds(config, attempt.budget))
          : attempt.token();
      const retry = withBudget({ ...config, headers: copyHeaders(config.headers) } as Config, attempt.budget);
      const headers = await presentation.headers(token, attemptRequest(instance, retry));
      // Canceled after its wait ended (while a proof was signed): axios' adapters send a canceled config they
      // are called with directly, so the retry is refused here; the dispatch reports axios' CanceledError.
      if (isCanceled(retry)) throw new RequestCanceled();
      // Only the presentation's headers change: those of the first attempt (a DPoP proof over the rejected
      // token, or one a Bearer-typed next token has no use for) are removed, never sent again.
      presentOn(retry, presentation, headers);
      if (presentation.classify === undefined) return real(retry);
      // The scheme sees the retry's reply too (a DPoP server may send a new nonce with it); no second retry.
      const observe = (r: AxiosResponse | undefined) => {
        if (r !== undefined && r !== null && typeof r.status === 'number') {
          verdictOf(presentation, r.status, (name) => getHeader(r.headers as Headers, name), attemptRequest(instance, retry));
        }
      };
      return real(retry).then(
        (r) => (observe(r), r),
        (error: unknown) => {
          observe((error as { response?: AxiosResponse } | null)?.response);
          throw error;
        },
      );
    };
    let first = presented ?? config;
    try {
      if (presented === undefined && attempt.waited) first = withBudget(config, attempt.budget);
    } catch (error) {
      return Promise.reject(error);
    }
    // A scheme that signs the request (DPoP): an interceptor that ran after ours (axios runs those added before
    // `attach` later) may have changed the method or URL the proof was made for; it is made again for what is
    // sent, instead of costing a 401 and a new token on every call.
    const stale = presentation.classify !== undefined && attempt.signedWith()?.changedIn(first) === true;
    if (stale) {
      const start = first;
      return Promise.resolve(presentation.headers(attempt.token(), attemptRequest(instance, start))).then((h) => {
        attempt.sign(undefined);
        presentOn(start, presentation, h);
        return sendAndRetry(config, real, start);
      });
    }
    return real(first).then(
      (response) => {
        // validateStatus may let a 401 through as a success, and an invalid_token challenge may come with
        // any status: only a reply with neither skips the check (two cheap tests on the hot path).
        if (response.status !== 401 && presentation.classify === undefined && getHeader(response.headers as Headers, 'www-authenticate') === undefined) {
          return response;
        }
        return retryWith(response, () => response);
      },
      (error: unknown) => {
        const response = (error as { response?: AxiosResponse } | null)?.response;
        if (response === undefined || response === null || typeof response.status !== 'number') throw error;
        return retryWith(response, () => {
          throw error;
        });
      },
    );
  }
}

/** Whether axios would not send this config: its cancel token was canceled or its signal aborted. */
function isCanceled(config: Config): boolean {
  const cancelToken = config.cancelToken as { reason?: unknown } | undefined;
  return (cancelToken !== undefined && cancelToken !== null && cancelToken.reason !== undefined) || config.signal?.aborted === true;
}

/**
 * A request that must not be sent: goes on without a token to axios' dispatch, which throws the `CanceledError`
 * axios gives for a canceled request (its own class, its cancel token's reason) before any adapter runs; the
 * adapter refuses too, should anything have un-canceled it.
 */
function refuse(config: Config): Config {
  config.adapter = () => Promise.reject(new RequestCanceled());
  return config;
}

/** What may end a token wait of this request: its abort signal, its cancel token, and its `timeout` budget. */
function waitEnds(config: Config, budget: Budget | undefined): WaitEnd[] {
  const ends: WaitEnd[] = [];
  const signal = config.signal as AbortSignal | undefined;
  if (signal !== undefined && signal !== null && typeof signal.addEventListener === 'function') {
    ends.push(onAbort(signal, () => new RequestCanceled()));
  }
  const cancelToken = config.cancelToken as { subscribe?: (fn: () => void) => void; unsubscribe?: (fn: () => void) => void } | undefined;
  if (typeof cancelToken?.subscribe === 'function') {
    ends.push((end) => {
      const listener = () => end(new RequestCanceled());
      cancelToken.subscribe!(listener);
      return () => cancelToken.unsubscribe?.(listener);
    });
  }
  if (budget !== undefined) ends.push(afterMs(budget.deadline - performance.now(), () => timeoutError(config, budget)));
  return ends;
}

function budgetOf(config: Config): Budget | undefined {
  const timeout = config.timeout;
  if (typeof timeout !== 'number' || !(timeout > 0)) return undefined;
  const message = config.timeoutErrorMessage;
  return { deadline: performance.now() + timeout, timeout, timeoutErrorMessage: typeof message === 'string' && message !== '' ? message : undefined };
}

/** The error axios gives when `timeout` runs out (`ECONNABORTED`, or `ETIMEDOUT` with `transitional.clarifyTimeoutError`). */
function timeoutError(config: Config, budget: Budget): AxiosError {
  const message = budget.timeoutErrorMessage ?? `timeout of ${budget.timeout}ms exceeded`;
  return new AxiosError(message, config.transitional?.clarifyTimeoutError === true ? 'ETIMEDOUT' : 'ECONNABORTED', config);
}

/**
 * An attempt's config with what is left of the call's budget as axios' `timeout` (its message still naming the
 * whole budget); none left: the timeout error, nothing sent.
 */
function withBudget(config: Config, budget: Budget | undefined): Config {
  if (budget === undefined) return config;
  const left = Math.ceil(budget.deadline - performance.now());
  if (left <= 0) throw timeoutError(config, budget);
  return { ...config, timeout: left, timeoutErrorMessage: budget.timeoutErrorMessage ?? `timeout of ${budget.timeout}ms exceeded` };
}

/** axios' http adapter, to know when a multipart boundary in `Content-Type` is honoured; none outside Node. */
let httpAdapter: AxiosAdapter | null | undefined;
function nodeHttpAdapter(): AxiosAdapter | null {
  if (httpAdapter === undefined) {
    try {
      httpAdapter = (getAdapter as (adapters: unknown) => AxiosAdapter)('http');
    } catch {
      httpAdapter = null;
    }
  }
  return httpAdapter;
}

/** A spec `FormData`, as axios tells it (`utils.isSpecCompliantForm`). */
function isSpecForm(data: unknown): data is FormData {
  const form = data as { append?: unknown; [Symbol.toStringTag]?: unknown; [Symbol.iterator]?: unknown } | null | undefined;
  return typeof form?.append === 'function' && form[Symbol.toStringTag] === 'FormData' && typeof form[Symbol.iterator] === 'function';
}

const BOUNDARY = /boundary=([-_\w\d]{10,70})/i;

/**
 * A `FormData` body is encoded by each adapter run with a fresh random multipart boundary, so a retry would
 * send other bytes (APIs that sign or digest the body reject them). axios' http adapter keeps a boundary given
 * in `Content-Type`: one is fixed before the first attempt. Other adapters (fetch) get the form encoded once
 * (`new Response(form)`) and send those bytes with its `Content-Type` both times.
 */
async function sameFormBytes(config: Config, real: AxiosAdapter): Promise<void> {
  if (!isSpecForm(config.data)) return;
  const contentType = getHeader(config.headers as Headers, 'content-type');
  const hasBoundary = typeof contentType === 'string' && BOUNDARY.test(contentType);
  if (real === nodeHttpAdapter()) {
    if (!hasBoundary) setHeader(config, 'Content-Type', `multipart/form-data; boundary=form-data-boundary-${globalThis.crypto.randomUUID()}`);
    return;
  }
  if (typeof Response !== 'function') return;
  const encoded = new Response(config.data);
  config.data = new Uint8Array(await encoded.arrayBuffer());
  if (!hasBoundary) setHeader(config, 'Content-Type', encoded.headers.get('content-type')!);
}

/**
 * An instance of the `form-data` package (a stream): what axios' own `transformRequest` makes in Node of a plain
 * object sent as `multipart/form-data` (`postForm`, `toFormData`), or one the caller built.
 */
interface NodeFormData {
  getBuffer(): Buffer;
  getLengthSync(): number;
  getBoundary(): string;
  getHeaders(): Record<string, string>;
  hasKnownLength(): boolean;
  pipe: unknown;
}

function isNodeFormData(data: unknown): data is NodeFormData {
  const form = data as Partial<Record<keyof NodeFormData, unknown>> | null | undefined;
  return (
    typeof form?.getBuffer === 'function' &&
    typeof form.getBoundary === 'function' &&
    typeof form.getHeaders === 'function' &&
    typeof form.hasKnownLength === 'function' &&
    typeof form.getLengthSync === 'function' &&
    typeof form.pipe === 'function'
  );
}

/**
 * A `form-data` body whose parts are all in memory (strings, buffers: `hasKnownLength()`) is sent as its bytes
 * (`getBuffer()`, the package's own encoding) with its `Content-Type` and boundary: the same bytes on the wire
 * as the stream, which a 401 retry can send again. A part that is a stream leaves the body as it is (sent once,
 * not retried).
 */
function inMemoryFormBytes(config: Config): void {
  const form = config.data as NodeFormData;
  let bytes: Buffer;
  let contentType: string | undefined;
  let length: number;
  try {
    if (!form.hasKnownLength()) return;
    // The stream's own length: an empty form streams nothing, while getBuffer() would give a closing boundary.
    length = form.getLengthSync();
    bytes = length === 0 ? Buffer.alloc(0) : form.getBuffer();
    contentType = form.getHeaders()['content-type'];
  } catch {
    return; // a stream part given a knownLength: getBuffer() can't read it
  }
  // Sent as bytes only when they are exactly what the stream would send (same length as it announces).
  if (typeof contentType !== 'string' || !Buffer.isBuffer(bytes) || bytes.length !== length) return;
  config.data = bytes;
  setHeader(config, 'Content-Type', contentType);
}

function resolveAdapter(setting: Config['adapter'], config: Config): AxiosAdapter {
  // Newer axios versions take the config (the fetch adapter reads its environment from it); older ignore it.
  return (getAdapter as (adapters: unknown, config?: unknown) => AxiosAdapter)(setting, config);
}

/** The first attempt's reply is dropped: release a streamed body (`responseType: 'stream'`) so its socket is freed. */
function discardBody(response: AxiosResponse): void {
  const data = response.data as { destroy?: () => void; cancel?: () => Promise<void> } | undefined;
  if (data === null || typeof data !== 'object') return;
  if (typeof data.destroy === 'function') data.destroy();
  else if (typeof data.cancel === 'function') data.cancel().catch(() => undefined);
}

/**
 * The method and absolute URL of an attempt, computed only when a presentation asks (DPoP signs them). A class
 * with prototype getters, not an object literal with its own: a literal's accessors are allocated per request,
 * and in a profile of the warm path they doubled the client's garbage-collection time.
 */
class AttemptRequest implements TokenAttemptRequest {
  readonly #instance: AxiosInstance;
  readonly #config: Config;
  #method: string | undefined;
  #url: string | undefined;

  constructor(instance: AxiosInstance, config: Config) {
    this.#instance = instance;
    this.#config = config;
  }

  get params(): TokenParams | undefined {
    const attempt = this.#config[ATTEMPT];
    return attempt instanceof Attempt ? attempt.params() : undefined;
  }

  /** Read once: what a presentation signed. */
  get method(): string {
    return (this.#method ??= methodOf(this.#config));
  }

  get url(): string {
    return (this.#url ??= this.#instance.getUri(this.#config));
  }

  /** Whether `config` (the attempt as the adapter got it) has another method or URL than the one read here. */
  changedIn(config: Config): boolean {
    return (this.#method !== undefined && this.#method !== methodOf(config)) || (this.#url !== undefined && this.#url !== this.#instance.getUri(config));
  }
}

const methodOf = (config: Config): string => (config.method ?? 'get').toUpperCase();

function attemptRequest(instance: AxiosInstance, config: Config): TokenAttemptRequest {
  return new AttemptRequest(instance, config);
}

function resolveInstance(target: TokenCacheAttachTarget): AxiosInstance {
  const candidate =
    target !== null && (typeof target === 'object' || typeof target === 'function') && 'axiosRef' in target
      ? (target as { axiosRef: AxiosInstance }).axiosRef
      : (target as AxiosInstance);
  const interceptors = (candidate as Partial<AxiosInstance> | undefined)?.interceptors;
  if (typeof candidate?.request !== 'function' || typeof interceptors?.request?.use !== 'function' || typeof interceptors.response?.use !== 'function') {
    throw new TokenCacheConfigError('instance', interceptorMessages.badTarget(describeValue(target)));
  }
  return candidate;
}

// Headers are an AxiosHeaders by the time interceptors run, unless another interceptor swapped in a plain
// object: both shapes are handled, names compared case-insensitively.

function hasHeader(headers: Headers, name: string): boolean {
  return getHeader(headers, name) !== undefined;
}

function getHeader(headers: Headers, name: string): unknown {
  if (headers === undefined || headers === null) return undefined;
  const h = headers as { get?: (name: string) => unknown; has?: (name: string) => boolean };
  if (typeof h.get === 'function' && typeof h.has === 'function') return h.has(name) ? h.get(name) : undefined;
  const lower = name.toLowerCase();
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === lower) {
      const value = (headers as Record<string, unknown>)[key];
      if (value !== undefined) return value;
    }
  }
  return undefined;
}

/** A copy for the retry: the first attempt's config (on its error, its response) keeps what it sent. */
function copyHeaders(headers: Headers): Headers {
  if (headers === undefined || headers === null) return {};
  const ctor = (headers as { constructor?: { from?: unknown } }).constructor as (new (h: unknown) => Headers) & { from?: unknown };
  // An AxiosHeaders of the instance's own axios copy: the same class, so the adapter treats it as its own.
  if (typeof ctor === 'function' && typeof ctor.from === 'function') return new ctor(headers);
  return { ...(headers as Record<string, unknown>) };
}

/** Puts an attempt's token headers on `config`: every header the presentation owns is cleared, then set as given. */
function presentOn(config: Config, presentation: TokenPresentation, values: Record<string, string>): Config {
  for (const name of presentation.headerNames) deleteHeader(config, name);
  for (const name of Object.keys(values)) setHeader(config, name, values[name]!);
  return config;
}

function deleteHeader(config: Config, name: string): void {
  const headers = config.headers as Headers;
  if (headers === undefined || headers === null) return;
  const h = headers as { delete?: (name: string) => unknown };
  if (typeof h.delete === 'function') {
    h.delete(name);
    return;
  }
  const lower = name.toLowerCase();
  if (!Object.keys(headers).some((key) => key.toLowerCase() === lower)) return;
  const plain: Record<string, unknown> = { ...(headers as Record<string, unknown>) };
  for (const key of Object.keys(plain)) if (key.toLowerCase() === lower) delete plain[key];
  config.headers = plain as never;
}

function setHeader(config: Config, name: string, value: string): void {
  const headers = config.headers as Headers;
  const h = headers as { set?: (name: string, value: string) => unknown } | undefined;
  if (h !== undefined && h !== null && typeof h.set === 'function') {
    h.set(name, value);
    return;
  }
  const plain: Record<string, unknown> = { ...(headers as Record<string, unknown> | undefined) };
  for (const key of Object.keys(plain)) if (key.toLowerCase() === name.toLowerCase()) delete plain[key];
  plain[name] = value;
  config.headers = plain as never;
}
