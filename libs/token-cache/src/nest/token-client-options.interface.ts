import type { CreateAxiosDefaults } from 'axios';
import type { AttachTokenCacheOptions } from '../core/index.js';

/**
 * Options of `TokenCacheModule.forFeature`: the client's name, the token to put on its requests
 * (`source`, `subject`, `scopes`, `audience`, `header`, `scheme`), and any `axios.create()` config
 * (`baseURL`, `timeout`, `headers`, `httpsAgent`…) for the rest.
 */
export interface TokenClientOptions extends CreateAxiosDefaults, Omit<AttachTokenCacheOptions, 'subjectToken'> {
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
