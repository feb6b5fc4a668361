import type { CreateAxiosDefaults } from 'axios';
import type { AttachTokenCacheOptions } from '../core/index.js';

/**
 * Options of `TokenCacheModule.forFeature`: the client's name, the token to put on its requests
 * (`source`, `subject`, `scopes`, `audience`, `header`, `scheme`), and any `axios.create()` config
 * (`baseURL`, `timeout`, `headers`, `httpsAgent`…) for the rest.
 */
export interface TokenClientOptions extends CreateAxiosDefaults, AttachTokenCacheOptions {
  /** Names the client: `@InjectTokenClient(name)` / `getTokenClientToken(name)`. Required. */
  name: string;
}
