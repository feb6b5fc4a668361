/**
 * An assertion given as a string, a function, or a file read afresh for every token request: the
 * `clientAssertion` of `authMethod: 'client_assertion'` and the `assertion` of `jwtBearer`. A Kubernetes
 * projected service-account token is such a file: the kubelet rotates it by swapping the `..data` symlink,
 * so each read opens the path again and sees one whole token, the old or the new.
 */
import { readFile } from 'node:fs/promises';
import { redact, TokenCacheConfigError, TokenFetchError } from '../token-cache.errors.js';
import { messages } from '../token-cache.messages.js';
import type { TokenRequest } from '../token-cache.types.js';
import { assertKnownOptions, describeValue } from '../validate.js';
import { ASSERTION_FILE_NAMES } from './source-options.js';
import { sourceMessages } from './token-sources.messages.js';

/** A string, a function called for every token request (with the request), or `{ path }` of a file read each time. */
export type AssertionInput = string | ((request: TokenRequest) => string | Promise<string>) | { path: string };

/** Checks the shape at once: TokenCacheConfigError naming `option`. */
export function validateAssertionInput(option: string, value: unknown, why: string): AssertionInput {
  if (typeof value === 'string' && value.trim() !== '') return value;
  if (typeof value === 'function') return value as AssertionInput;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    assertKnownOptions(value, ASSERTION_FILE_NAMES, `${option}.`);
    const path = (value as { path?: unknown }).path;
    if (typeof path === 'string' && path.trim() !== '') return { path };
  }
  throw new TokenCacheConfigError(option, messages.config(option, `${why}: expected a string, a function returning one, or { path }, got ${describeValue(value)}`));
}

/** Values of plain-string inputs: redacted from every message. */
export function staticSecret(input: AssertionInput | undefined): string[] {
  return typeof input === 'string' ? [input] : [];
}

/**
 * The assertion for one token request. A missing, unreadable or empty file and a function that throws are
 * retryable TokenFetchErrors (the kubelet may not have written the file yet); a function returning something
 * other than a non-empty string is not.
 */
export async function readAssertion(option: string, input: AssertionInput, request: TokenRequest): Promise<string> {
  const source = request.source;
  if (typeof input === 'string') return input;
  if (typeof input === 'function') {
    let value: unknown;
    try {
      value = await input(request);
    } catch (error) {
      const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new TokenFetchError(sourceMessages.assertionFunctionFailed(source, option, redact(detail)), { source, retryable: true });
    }
    if (typeof value !== 'string' || value.trim() === '') {
      throw new TokenFetchError(sourceMessages.assertionBadValue(source, option, describeValue(value)), { source, retryable: false });
    }
    return value.trim();
  }
  let text: string;
  try {
    text = await readFile(input.path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new TokenFetchError(sourceMessages.assertionFileUnreadable(source, option, input.path, typeof code === 'string' ? code : 'error'), {
      source,
      retryable: true,
    });
  }
  const value = text.trim();
  if (value === '') throw new TokenFetchError(sourceMessages.assertionFileEmpty(source, option, input.path), { source, retryable: true });
  return value;
}
