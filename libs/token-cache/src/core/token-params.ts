/**
 * The parameter rule of `getToken`, `getCachedToken`, `peek`, `refresh`, `invalidate` and `warmToken`:
 * `undefined`, or a plain object whose `subject`, `audience`, `resource`, `subjectToken` are strings and
 * whose `scopes` is an array of strings. Anything else is a TokenCacheConfigError naming the field, so that
 * `{ subject: { id: 'alice' } }` can never collapse to the same key as `{ subject: { id: 'bob' } }`.
 *
 * Precisely: a plain object is one whose prototype is `Object.prototype` or `null` and that is not a Proxy;
 * its enumerable string-keyed fields are checked (each must be own, known and of its type); symbol keys are
 * not parameters and are ignored, as `JSON.stringify` ignores them. A getter is read like a field; the cache
 * refuses a fetch whose request reads differently from its key (token-cache.ts), so a getter that answers
 * differently per read can never file one subject's token under another's key.
 */
import { types } from 'node:util';
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
  if (!isPlainObject(params) || types.isProxy(params)) {
    fail(method, 'params', `expected undefined or an object such as { subject: 'alice', scopes: ['read'] }, got ${types.isProxy(params) ? 'a Proxy' : describeValue(params)}`);
  }
  for (const name in params) {
    // An inherited field (a prototype's) is not the caller's parameter.
    if (!Object.hasOwn(params, name)) fail(method, name, 'is inherited from a prototype; pass a plain object with own fields');
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
        if (!Array.isArray(value) || types.isProxy(value)) {
          fail(method, 'scopes', `expected an array of scope names such as ['read', 'write'], got ${types.isProxy(value) ? 'a Proxy' : describeValue(value)}`);
        }
        for (let i = 0; i < value.length; i++) {
          if (!Object.hasOwn(value, i)) fail(method, 'scopes', `expected an array of strings; scopes[${i}] is a hole`);
          if (typeof value[i] !== 'string') fail(method, 'scopes', `expected an array of strings; scopes[${i}] is ${describeValue(value[i])}`);
        }
        break;
      default: {
        const hint = closestName(name, FIELDS);
        fail(method, name, `is not a parameter (known: ${FIELDS.join(', ')})${hint ? `; did you mean "${hint}"?` : ''}`);
      }
    }
  }
}
