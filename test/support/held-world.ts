/**
 * The world of the abort tests (axios and tokenFetch): the mock IdP behind a held IdP (token requests wait
 * until the test releases them) and the recording resource server, started once per file and reset before
 * each test. Register it at the top of a spec file: it adds the hooks.
 */
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { clientCredentials, TokenCache } from 'nestjs-token-cache/core';
import { startHeldIdp, type HeldIdp } from './held-idp.js';
import { distinctTokensWithAudience } from './idp-token-function.js';
import { startMockIdp, type MockIdp } from './mock-idp.js';
import { startResourceServer, type ResourceServer } from './resource-server.js';

export interface HeldWorld {
  idp: MockIdp;
  held: HeldIdp;
  api: ResourceServer;
  /** A fresh cache with one source, `api`: client credentials at the held IdP. */
  newCache(): TokenCache;
}

export function useHeldWorld(): HeldWorld {
  const world = {} as HeldWorld;
  beforeAll(async () => {
    world.idp = await startMockIdp();
    distinctTokensWithAudience(world.idp);
    world.held = await startHeldIdp(world.idp);
    world.api = await startResourceServer(world.idp);
    world.newCache = () =>
      new TokenCache({ sources: { api: clientCredentials({ tokenUrl: world.held.tokenUrl, clientId: 'abort-tests', clientSecret: 'abort-tests-secret' }) } });
  });
  afterAll(async () => {
    await world.api.close();
    await world.held.close();
    await world.idp.close();
  });
  beforeEach(() => {
    world.api.requests.length = 0;
    world.api.revoked.clear();
    world.held.reset();
  });
  return world;
}

/** A promise's outcome as a value: `{ resolved }` or `{ rejected }`. */
export const outcome = (p: Promise<unknown>) => p.then((r) => ({ resolved: r }), (e: unknown) => ({ rejected: e }));
