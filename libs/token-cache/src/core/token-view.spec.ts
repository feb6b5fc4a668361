import { describe, expect, it } from 'vitest';
import type { StoredToken } from './token-store.interface.js';
import { entryOf, viewOf } from './token-view.js';

const stored = (): StoredToken => ({
  accessToken: 'secret-token',
  tokenType: 'Bearer',
  expiresAt: Date.UTC(2026, 0, 1, 1),
  receivedAt: Date.UTC(2026, 0, 1),
  scopes: ['a', 'b'],
  source: 'api',
  subject: 'u',
  requestedScopes: ['a'],
  audience: 'x',
  resource: 'https://r',
});

describe('viewOf', () => {
  it('shows the token, its type, expiry and scopes: made once per stored token', () => {
    const token = stored();
    const view = viewOf(token);
    expect(view).toEqual({ accessToken: 'secret-token', tokenType: 'Bearer', expiresAt: new Date(token.expiresAt), scopes: ['a', 'b'] });
    expect(viewOf(token)).toBe(view);
  });

  it('is read-only: a caller cannot change what the next caller gets', () => {
    const token = stored();
    const view = viewOf(token);
    expect(() => ((view as { accessToken: string }).accessToken = 'x')).toThrow(TypeError);
    expect(() => view.scopes!.push('z')).toThrow(TypeError);
    expect(viewOf(token).accessToken).toBe('secret-token');
    expect(viewOf(token).scopes).toEqual(['a', 'b']);
  });

  it('is not part of the stored token when it is serialized or copied', () => {
    const token = stored();
    viewOf(token);
    expect(JSON.parse(JSON.stringify(token))).toEqual(stored());
    expect(Object.keys({ ...token })).toEqual(Object.keys(stored()));
  });
});

describe('entryOf', () => {
  it('shows the key\'s parameters and timing, never the token', () => {
    const token = stored();
    const entry = entryOf('api|k', token, 'fresh', token.expiresAt - 1_000);
    expect(entry).toEqual({
      key: 'api|k',
      source: 'api',
      subject: 'u',
      scopes: ['a'],
      audience: 'x',
      resource: 'https://r',
      expiresAt: new Date(token.expiresAt),
      expiresInMs: 1_000,
      state: 'fresh',
    });
    expect(JSON.stringify(entry)).not.toContain('secret-token');
    expect(entryOf('api', token, 'expired', token.expiresAt + 5).expiresInMs).toBe(0);
  });
});
