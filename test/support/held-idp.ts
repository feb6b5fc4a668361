/**
 * A slow IdP for the abort and timeout tests: a loopback server in front of the mock IdP's token endpoint that
 * holds every token request until the test releases it (no sleeps: a test aborts while a fetch is provably in
 * flight, then lets it finish and sees where the token went).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MockIdp } from './mock-idp.js';

export interface HeldIdp {
  tokenUrl: string;
  /** Token requests that arrived (held or answered). */
  readonly arrived: number;
  /** Resolves once `n` token requests have arrived. */
  arrivals(n: number): Promise<void>;
  /** Holds the token requests that arrive from now on (the default). */
  hold(): void;
  /** Counts from zero again and holds (between tests). */
  reset(): void;
  /** Answers every held token request, and the later ones at once, until `hold()`. */
  release(): void;
  close(): Promise<void>;
}

export async function startHeldIdp(idp: MockIdp): Promise<HeldIdp> {
  let arrived = 0;
  let gate!: Promise<void>;
  let open!: () => void;
  const hold = () => {
    gate = new Promise<void>((resolve) => (open = resolve));
  };
  hold();
  const waiters: { n: number; resolve: () => void }[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    arrived++;
    for (const w of waiters.filter((w) => arrived >= w.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
    await gate;
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'authorization', 'accept']) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    try {
      const reply = await fetch(idp.tokenUrl, { method: req.method, headers, body: Buffer.concat(chunks) });
      res.writeHead(reply.status, { 'content-type': reply.headers.get('content-type') ?? 'application/json' });
      res.end(Buffer.from(await reply.arrayBuffer()));
    } catch {
      res.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    tokenUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`,
    get arrived() {
      return arrived;
    },
    arrivals: (n) => (arrived >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }))),
    hold,
    reset: () => {
      arrived = 0;
      waiters.length = 0;
      hold();
    },
    release: () => open(),
    close: () =>
      new Promise<void>((resolve) => {
        open();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
