import type { CreateAxiosDefaults } from 'axios';
import type { AttachTokenCacheOptions, TokenFetchOptions } from '../core/index.js';

/** What both kinds of `forFeature` client take besides their own options. */
export interface TokenClientCommonOptions {
  /** Names the client: `@InjectTokenClient(name)` / `getTokenClientToken(name)`. Required. */
  name: string;
  /**
   * On-behalf-of (RFC 8693) with a `tokenExchange` source: `'incoming'` exchanges the `Authorization: Bearer`
   * token of the HTTP request being handled (read through the request's async context, set by a middleware
   * this option installs on every route, so guards see it too); a function returns the subject token per
   * request. A request made with no incoming bearer token rejects with TokenCacheConfigError naming
   * `subjectToken`, and nothing is sent. Default none.
   */
  subjectToken?: 'incoming' | (() => string | undefined);
}

/**
 * Options of `TokenCacheModule.forFeature` for an axios client (the default): the client's name, the token to
 * put on its requests (`source`, `subject`, `scopes`, `audience`, `header`, `scheme`), and any `axios.create()`
 * config (`baseURL`, `timeout`, `headers`, `httpsAgent`…) for the rest.
 */
export interface AxiosTokenClientOptions extends CreateAxiosDefaults, Omit<AttachTokenCacheOptions, 'subjectToken'>, TokenClientCommonOptions {
  /** `'axios'` (default): the client is an `AxiosInstance`. */
  client?: 'axios';
}

/**
 * Options of `TokenCacheModule.forFeature` for a fetch client: the client is a `TokenFetch` (the signature of
 * the global `fetch`) made by `tokenFetch(cache, options)`. Only the options of `tokenFetch` are accepted.
 */
export interface FetchTokenClientOptions extends Omit<TokenFetchOptions, 'subjectToken'>, TokenClientCommonOptions {
  client: 'fetch';
}

/** Options of `TokenCacheModule.forFeature`: an axios client (default) or, with `client: 'fetch'`, a fetch client. */
export type TokenClientOptions = AxiosTokenClientOptions | FetchTokenClientOptions;
