/** Option checks shared by the cache and the sources: each throws a TokenCacheConfigError naming the option. */
import { TokenCacheConfigError } from './token-cache.errors.js';
import { messages } from './token-cache.messages.js';

export function describeValue(value: unknown): string {
  if (typeof value === 'string') return value === '' ? 'an empty string' : 'a string';
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return 'an array';
  return value === null ? 'null' : typeof value;
}

function fail(option: string, expected: string, value: unknown): never {
  throw new TokenCacheConfigError(option, messages.config(option, `expected ${expected}, got ${describeValue(value)}`));
}

/** Undefined or a positive integer. */
export function assertPositiveInt(option: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) fail(option, 'a positive integer', value);
}

/** The longest delay Node's timers take (2^31 - 1 ms, about 24.8 days); a longer one fires at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** Undefined or a positive integer a timer can wait: at most MAX_TIMER_MS. */
export function assertTimerMs(option: string, value: unknown): void {
  assertPositiveInt(option, value);
  if (typeof value === 'number' && value > MAX_TIMER_MS) fail(option, `at most ${MAX_TIMER_MS} ms (the longest timer delay)`, value);
}

/** Undefined or an integer >= 0. */
export function assertNonNegativeInt(option: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) fail(option, 'an integer >= 0', value);
}

/** A non-empty string (required). */
export function assertNonEmptyString(option: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.trim() === '') fail(option, 'a non-empty string', value);
}

/** Undefined or a non-empty string. */
export function assertOptionalString(option: string, value: unknown): void {
  if (value !== undefined) assertNonEmptyString(option, value);
}

/** Undefined, a function. */
export function assertOptionalFunction(option: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') fail(option, 'a function', value);
}

/** An absolute http(s) URL (required). */
export function assertUrl(option: string, value: unknown): asserts value is string {
  assertNonEmptyString(option, value);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail(option, 'an absolute http(s) URL', value);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(option, 'an absolute http(s) URL', value);
}
