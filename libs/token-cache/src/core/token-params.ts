/**
 * The parameter rule of `getToken`, `getCachedToken`, `peek`, `refresh`, `invalidate` and `warmToken`:
 * `undefined`, or a plain object whose `subject`, `audience`, `resource`, `subjectToken` are strings and
 * whose `scopes` is an array of strings. Anything else is a TokenCacheConfigError naming the field, so that
 * `{ subject: { id: 'alice' } }` can never collapse to the same key as `{ subject: { id: 'bob' } }`.
 */
import { TokenCacheConfigError } from './token-cache.errors.js';
import { messages } from './token-cache.messages.js';
import type { TokenParams } from './token-cache.types.js';
import { closestName, describeValue } from './validate.js';

const STRING_FIELDS = ['subject', 'audience', 'resource', 'subjectToken'] as const;
const FIELDS: readonly string[] = [...STRING_FIELDS, 'scopes'];

function fail(method: string, field: string, problem: string): never {
  throw new TokenCacheConfigError(field, messages.badParams(method, field, problem));
}

/** Whether `value` is a plain object (`{…}` or `Object.create(null)`), not an array, Date, Map or class instance. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Checks the parameters of a `method` call; returns them unchanged when they are valid (the hot path
 * allocates nothing). Throws TokenCacheConfigError (`option` = the field, e.g. `subject`) otherwise.
 * Fields set to `undefined` count as absent.
 */
export function assertTokenParams(params: unknown, method: string): asserts params is TokenParams | undefined {
  if (params === undefined) return;
  if (!isPlainObject(params)) {
    fail(method, 'params', `expected undefined or an object such as { subject: 'alice', scopes: ['read'] }, got ${describeValue(params)}`);
  }
  for (const name in params) {
    const value = params[name];
    if (value === undefined) continue;
    switch (name) {
      case 'subject':
      case 'audience':
      case 'resource':
      case 'subjectToken':
        if (typeof value !== 'string') {
          fail(method, name, `expected a string, got ${describeValue(value)}${name === 'subject' ? " (pass the user's id, e.g. String(user.id))" : ''}`);
        }
        break;
      case 'scopes':
        if (!Array.isArray(value)) fail(method, 'scopes', `expected an array of scope names such as ['read', 'write'], got ${describeValue(value)}`);
        for (let i = 0; i < value.length; i++) {
          if (typeof value[i] !== 'string') fail(method, 'scopes', `expected an array of strings; scopes[${i}] is ${describeValue(value[i])}`);
        }
        break;
      default: {
        const hint = closestName(name, FIELDS);
        fail(method, name, `is not a parameter (known: ${FIELDS.join(', ')})${hint ? `; did you mean "${hint}"?` : ''}`);
      }
    }
  }
  // Symbol keys are invisible to for…in but would still be a caller's mistake.
  if (Object.getOwnPropertySymbols(params).length > 0) fail(method, 'params', 'has symbol keys; only subject, audience, resource, subjectToken and scopes are parameters');
}
