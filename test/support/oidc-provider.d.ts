// oidc-provider ships no types (and @types/oidc-provider lags behind 9.x): the little the tests use.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface Grant {
    addOIDCScope(scope: string): void;
    save(): Promise<string>;
  }
  interface Saveable {
    save(): Promise<string>;
  }
  export default class Provider {
    constructor(issuer: string, configuration?: Record<string, unknown>);
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
    Grant: new (properties: { accountId: string; clientId: string }) => Grant;
    RefreshToken: new (properties: Record<string, unknown>) => Saveable;
    Client: { find(id: string): Promise<unknown> };
  }
}
