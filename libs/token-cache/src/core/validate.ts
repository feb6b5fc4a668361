/** Option checks shared by the cache and the sources: each throws a TokenCacheConfigError naming the option. */
import { TokenCacheConfigError } from './token-cache.errors.js';
import { messages } from './token-cache.messages.js';
import { MIN_TOKEN_LIFETIME_MS } from './token-timing.js';

export function describeValue(value: unknown): string {
  if (typeof value === 'string') return value === '' ? 'an empty string' : 'a string';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'bigint') return 'a bigint';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a Date';
  if (typeof value === 'object' && value !== null) {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
      if (typeof name === 'string' && /^[A-Za-z_$][\w$]{0,40}$/.test(name)) return `an instance of ${name}`;
    }
    return 'an object';
  }
  return value === null ? 'null' : typeof value;
}

/** The name in `known` closest to `name` (case-insensitive edit distance <= 3), for did-you-mean hints. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.min(3, Math.max(1, Math.floor(name.length / 3)));
  for (const candidate of known) {
    const d = editDistance(lower, candidate.toLowerCase());
    if (d === 0) return candidate;
    if (d <= bestDistance) {
      best = candidate;
      bestDistance = d - 1;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 4;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * Throws TokenCacheConfigError naming the first option of `options` that is not in `known` (with a
 * did-you-mean), so a typo (`fetchTimeoutMS`) fails at start instead of being silently ignored.
 * `prefix` is prepended to the name (`clientCredentials.`).
 */
export function assertKnownOptions(options: object, known: readonly string[], prefix = ''): void {
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue;
    const suggestion = closestName(name, known);
    throw new TokenCacheConfigError(`${prefix}${name}`, messages.unknownOption(`${prefix}${name}`, suggestion && `${prefix}${suggestion}`));
  }
}

function fail(option: string, expected: string, value: unknown): never {
  throw new TokenCacheConfigError(option, messages.config(option, `expected ${expected}, got ${describeValue(value)}`));
}

/** Undefined or a positive integer. */
export function assertPositiveInt(option: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) fail(option, 'a positive integer', value);
}

/**
 * Undefined or a token lifetime in ms: an integer of at least MIN_TOKEN_LIFETIME_MS (1 s). A shorter one (often
 * seconds typed where milliseconds are meant) would make nearly every call fetch.
 */
export function assertLifetimeMs(option: string, value: unknown): void {
  assertPositiveInt(option, value);
  if (typeof value === 'number' && value < MIN_TOKEN_LIFETIME_MS) {
    fail(option, `at least ${MIN_TOKEN_LIFETIME_MS} ms (1 s, the shortest token lifetime; the value is in milliseconds, and a shorter one would make nearly every call fetch)`, value);
  }
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

/** Undefined, or a string that is not a URL with user info (`https://user:pw@host`); the value is never echoed. */
export function assertNoUserInfo(option: string, value: unknown): void {
  if (typeof value === 'string' && /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(value)) {
    throw new TokenCacheConfigError(option, messages.config(option, 'must not contain user info ("user:password@") (the URL was not logged)'));
  }
}

/** Undefined, a function. */
export function assertOptionalFunction(option: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') fail(option, 'a function', value);
}

/**
 * An absolute http(s) URL (required), without user info: `https://user:password@host` would put the password
 * in every message that names the URL, so it is refused (and the message never repeats the URL).
 */
export function assertUrl(option: string, value: unknown): asserts value is string {
  assertNonEmptyString(option, value);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail(option, 'an absolute http(s) URL', value);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(option, 'an absolute http(s) URL', value);
  if (url.username !== '' || url.password !== '' || /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(value)) {
    throw new TokenCacheConfigError(
      option,
      messages.config(option, 'must not contain user info ("user:password@"): pass the client id and secret as "clientId" / "clientSecret" (the URL was not logged)'),
    );
  }
}

/**
 * An options object whose every name is known: a plain object (not null, an array or a class instance), else
 * TokenCacheConfigError naming `path`; an unknown name is a TokenCacheConfigError naming `path.name`
 * (`clientCredentials.tokenURL`) with a did-you-mean. `optional`: `undefined` passes.
 */
export function assertOptionsObject(path: string, value: unknown, known: readonly string[], optional = false): void {
  if (value === undefined && optional) return;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail(path, `an options object (${known.map((k) => `"${k}"`).join(', ')})`, value);
  }
  assertKnownOptions(value, known, `${path}.`);
}

/**
 * The option names of `T`, as a list checked against the interface at compile time: a name missing from the
 * list (an option added to the interface but not here) or not in `T` fails the build, so the run-time check of
 * unknown names never rejects a documented option.
 */
export function optionNames<T extends object>() {
  return <const L extends readonly (keyof T & string)[]>(
    ...names: L & ([Exclude<keyof T, L[number]>] extends [never] ? unknown : { missingOptionNames: Exclude<keyof T, L[number]> })
  ): readonly string[] => names;
}
