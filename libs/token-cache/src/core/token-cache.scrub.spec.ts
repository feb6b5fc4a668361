import { describe, expect, it } from 'vitest';
import { TokenCacheError, TokenFetchError } from './token-cache.errors.js';
import type { TokenSource } from './sources/token-source.interface.js';
import { harness } from './testing/harness.js';
import { ScriptedSource } from './testing/scripted-source.js';

/** A source that knows one secret of its own. */
function withSecret(secret: string): TokenSource & ScriptedSource {
  const source = new ScriptedSource() as ScriptedSource & { secrets: () => string[] };
  source.secrets = () => [secret];
  return source;
}

describe('fetch errors are scrubbed of every known secret and of held tokens', () => {
  it('removes another source\'s secret and the failing key\'s own opaque token, from message, stack and OAuth description', async () => {
    const lines: string[] = [];
    const logger = { debug: (m: string) => lines.push(m), warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) };
    const api = new ScriptedSource((_r, n) => ({ accessToken: `opaque-session-${n}`, expiresIn: 60 }));
    const other = withSecret('other-client-secret-42');
    const { cache, clock, events } = harness({ sources: { api, other }, logger });
    await cache.getToken('api', { subject: 'u1' });
    clock.advance(59_500); // past expiresAt less the transit margin: the next call fetches, the old token is still held
    api.reply = () => {
      throw new TokenFetchError('renewing opaque-session-1 failed (client other-client-secret-42)', {
        oauthErrorDescription: 'opaque-session-1 / other-client-secret-42',
      });
    };
    const error = (await cache.getToken('api', { subject: 'u1' }).catch((e: unknown) => e)) as TokenFetchError;
    expect(error).toBeInstanceOf(TokenCacheError);
    const outputs = JSON.stringify([error.message, error.stack, error.oauthErrorDescription, { ...error }, events, lines, cache.sourceStatus('api')]);
    expect(outputs).not.toContain('opaque-session-1');
    expect(outputs).not.toContain('other-client-secret-42');
    expect(error.message).toBe('renewing [redacted] failed (client [redacted])');
    expect(error.oauthErrorDescription).toBe('[redacted] / [redacted]');
  });

  it('leaves an error with nothing to hide as it was', async () => {
    const api = new ScriptedSource(() => {
      throw new TokenFetchError('The identity provider answered HTTP 503', { status: 503 });
    });
    const { cache } = harness({ sources: { api } });
    const error = (await cache.getToken('api').catch((e: unknown) => e)) as TokenFetchError;
    expect(error.message).toBe('The identity provider answered HTTP 503');
    expect(error.status).toBe(503);
    expect(Object.keys(error)).not.toContain('message');
  });
});
