/** What the demo's Nest modules are given by `createDemo`: where the outside world is, and the demo's settings. */
import type { ResolvedDemoOptions } from '../demo.config.js';
import type { TokenFileWriter } from '../world/token-file-writer.js';

export const DEMO_CONTEXT = Symbol('DEMO_CONTEXT');

export interface DemoContext {
  options: ResolvedDemoOptions;
  idpUrl: string;
  tokenUrl: string;
  apiUrl: string;
  /** The sidecar writing the token files. */
  writer: TokenFileWriter;
  /** The music app's first refresh token (as its one-time login left it); rotated on every use. */
  musicRefreshToken: string;
  counters: { musicRefreshTokenRotations: number; revocations: number };
}
