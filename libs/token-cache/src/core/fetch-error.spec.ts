import { describe, expect, it } from 'vitest';
import { typedFetchError } from './fetch-error.js';
import { TokenFetchError, TokenResponseError } from './token-cache.errors.js';

describe('typedFetchError', () => {
  it('anything a source throws becomes a retryable TokenFetchError naming the source, the known secrets removed', () => {
    const error = typedFetchError(new Error('IdP said no to client secret s3cr3t-value'), 'api', ['s3cr3t-value']);
    expect(error).toBeInstanceOf(TokenFetchError);
    expect((error as TokenFetchError).retryable).toBe(true);
    expect(error.message).toContain('"api"');
    expect(error.message).not.toContain('s3cr3t-value');
    expect(typedFetchError('plain string', 'api', []).message).toContain('plain string');
  });

  it('our own errors pass through as they are, redacted (percent- and base64-encoded forms too)', () => {
    const own = new TokenResponseError(`bad reply ${encodeURIComponent('to ken/+=')} ${Buffer.from('to ken/+=').toString('base64')}`, 'api');
    const typed = typedFetchError(own, 'api', ['to ken/+=']);
    expect(typed).toBe(own);
    expect(typed.message).not.toContain(encodeURIComponent('to ken/+='));
    expect(typed.message).not.toContain(Buffer.from('to ken/+=').toString('base64'));
  });
});
