/**
 * The demo's stand-in for a sidecar (Vault agent, a Kubernetes projected token): it gets a token from the
 * IdP on its own and writes it to files that the app's `fileToken` sources watch. Writes are atomic
 * (write a temporary file, then rename) so a reader never sees half a token.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { DEMO_CLIENTS, TOKEN_FILES } from '../demo.config.js';

export class TokenFileWriter {
  rotations = 0;
  private writing?: Promise<number>;

  constructor(
    readonly dir: string,
    private readonly tokenUrl: string,
  ) {}

  filePath(name: string): string {
    const file = TOKEN_FILES.find((f) => f.name === name);
    if (!file) throw new Error(`no token file named ${name}`);
    return join(this.dir, file.file);
  }

  /** Gets a new token and rewrites every file; returns the new token's `seq` (the IdP's issue counter). */
  rotate(): Promise<number> {
    // Rotations never overlap: a late, older write must not replace a newer token.
    this.writing = (this.writing ?? Promise.resolve(0)).catch(() => 0).then(() => this.writeAll());
    return this.writing;
  }

  /** Resolves when no rotation is in flight. */
  async settled(): Promise<void> {
    await this.writing?.catch(() => undefined);
  }

  private async writeAll(): Promise<number> {
    const { clientId, clientSecret, audience } = DEMO_CLIENTS.sidecar;
    const res = await fetch(this.tokenUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', audience }),
      signal: AbortSignal.timeout(5_000),
    });
    if (!res.ok) throw new Error(`token file sidecar: the IdP answered ${res.status}`);
    const body = (await res.json()) as { access_token: string; expires_in: number };
    await mkdir(this.dir, { recursive: true });
    for (const file of TOKEN_FILES) {
      const content =
        file.format === 'json'
          ? // No expires_in: read later, it would outlive the JWT; the reader takes the expiry from the JWT's exp.
            `${JSON.stringify({ access_token: body.access_token, token_type: 'Bearer' }, null, 2)}\n`
          : `${body.access_token}\n`;
      const target = join(this.dir, file.file);
      const tmp = `${target}.${process.pid}.tmp`;
      await writeFile(tmp, content, { mode: 0o600 });
      await rename(tmp, target);
    }
    this.rotations++;
    return Number(decodeJwt(body.access_token).seq);
  }
}
