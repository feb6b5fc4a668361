/**
 * The axios augmentation of token-cache.axios.ts again, for axios' CommonJS typings (`index.d.cts`): a CommonJS
 * app's `import axios from 'axios'` resolves to those, a declaration apart from the ESM one (`index.d.ts`) that
 * an ES module's `declare module 'axios'` augments. Types only; core/index.ts imports it for its types.
 */
import type { TokenCacheRequestOptions } from './token-cache.axios.js' with { 'resolution-mode': 'import' };

declare module 'axios' {
  interface AxiosRequestConfig {
    /** `true`: the token interceptor leaves this request alone (no header, no 401 retry). Default false. */
    skipTokenCache?: boolean;
    /** The token key for this request only (`subject`, `scopes`, `audience`), over the `attach()` options. */
    tokenCache?: TokenCacheRequestOptions;
  }
}
