/**
 * The cache key rule: one key per (source, subject, sorted de-duplicated scopes, audience, resource, and the
 * SHA-256 of the subject token: never the token itself).
 */
import { types } from 'node:util';
import { subjectTokenDigest } from './subject-token.js';
import type { TokenParams } from './token-cache.types.js';

const WHITESPACE = /\s/;

/** Scopes as the key sees them: split on whitespace, de-duplicated, sorted; undefined when none. */
export function normalizeScopes(scopes: readonly string[] | string | undefined): string[] | undefined {
  if (scopes === undefined) return undefined;
  if (Array.isArray(scopes) && isNormalized(scopes)) return scopes.length === 0 ? undefined : [...scopes];
  const list = (Array.isArray(scopes) ? scopes : [scopes]).flatMap((s) => String(s).split(/\s+/)).filter(Boolean);
  if (list.length === 0) return undefined;
  return [...new Set(list)].sort();
}

/** Already sorted, unique, non-empty and without whitespace: the common case, checked without allocating. */
function isNormalized(scopes: readonly string[]): boolean {
  for (let i = 0; i < scopes.length; i++) {
    const s = scopes[i];
    if (typeof s !== 'string' || s === '' || WHITESPACE.test(s) || (i > 0 && !(scopes[i - 1]! < s))) return false;
  }
  return true;
}

/** Escapes only the characters the key format uses (`%`, `|`, `=`, `+`, space), so keys stay readable. */
function esc(value: string): string {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 37 || c === 124 || c === 61 || c === 43 || c <= 32) return value.replace(/[%|=+\x00-\x20]/g, encodeURIComponent);
  }
  return value;
}

/**
 * A readable, unambiguous key: `source`, then `|sub=`, `|scope=`, `|aud=`, `|res=`, `|sbj=` (base64url
 * SHA-256 of `subjectToken`) parts for what is set.
 * Separator characters inside values are %-escaped so that no two requests can collide.
 */
export function cacheKey(source: string, params?: TokenParams): string {
  const key = esc(source);
  return params === undefined ? key : appendParams(key, params);
}

/** The key of `params` under a source's own (already escaped) key: the cache keeps those per source. */
export function appendParams(sourceKey: string, params: TokenParams): string {
  let key = sourceKey;
  const { subject, audience, resource, scopes } = params;
  if (subject !== undefined && subject !== '') key += `|sub=${esc(subject)}`;
  const normalized = scopes === undefined ? undefined : Array.isArray(scopes) && isNormalized(scopes) ? scopes : normalizeScopes(scopes);
  if (normalized !== undefined && normalized.length > 0) {
    key += '|scope=';
    for (let i = 0; i < normalized.length; i++) key += (i === 0 ? '' : '+') + esc(normalized[i]!);
  }
  if (audience !== undefined && audience !== '') key += `|aud=${esc(audience)}`;
  if (resource !== undefined && resource !== '') key += `|res=${esc(resource)}`;
  const { subjectToken } = params;
  if (subjectToken !== undefined && subjectToken !== '') key += `|sbj=${subjectTokenDigest(subjectToken)}`;
  return key;
}

/** What a memoised key was built from: compared field by field on every use, so a mutated params object is never served a stale key. */
interface KeySnapshot {
  readonly params: TokenParams;
  readonly key: string;
  readonly subject: unknown;
  readonly audience: unknown;
  readonly resource: unknown;
  readonly subjectToken: unknown;
  /** The scopes array as given (compared by identity), and its elements at the time (compared one by one). */
  readonly scopes: unknown;
  readonly scopeValues: readonly unknown[] | undefined;
}

/** A params object with every key field, including those later issues add (read as unknown: callers may pass anything). */
type AnyParams = TokenParams & { subjectToken?: unknown };

/**
 * The keys of one source's parameter sets, remembered so that a warm lookup with parameters builds and hashes
 * no string: the last params object seen (an identity check), any params object seen recently (a WeakMap,
 * verified field by field), and subject-only params (`{ subject }` made afresh per call: a Map by subject).
 * Everything else, and every first sight, goes through `build` (appendParams, where the rules live).
 * Keys never depend on the memo: it returns exactly what `build` returned for equal parameters, and it never
 * skips `build`'s validation of a parameter set it has not seen: a remembered object is trusted only while its
 * key fields are what `build` saw (a field that is not a key field, added to an object after it was answered, is
 * not looked for: counting an object's names on every hit would cost the reused-object path a fifth of its
 * speed), and the by-subject shortcut only for a plain object whose one name is `subject` (a fresh
 * `{ subject, bogus }`, a class instance or a Proxy goes through `build`, which rejects it).
 * Params with a `subjectToken` are never remembered here (a source's memo is reachable from the cache, and
 * would show the token): their key is built again each time, with the digest from `subjectTokenDigest`.
 */
export class KeyMemo {
  private last: KeySnapshot | undefined;
  private readonly byObject = new WeakMap<object, KeySnapshot>();
  private readonly bySubject = new Map<string, string>();
  /** Keys of subject-token-only params, by the token's digest (never by the token). */
  private readonly bySubjectToken = new Map<string, string>();

  /**
   * @param sourceKey the source's own escaped key
   * @param maxSubjects how many subject-only keys are remembered (oldest forgotten first)
   * @param build the key of a parameter set, with any validation: called on every memo miss
   */
  constructor(
    readonly sourceKey: string,
    private readonly maxSubjects: number,
    private readonly build: (sourceKey: string, params: TokenParams) => string = appendParams,
  ) {}

  keyOf(params: TokenParams): string {
    const last = this.last;
    if (last !== undefined && last.params === params && unchanged(last, params)) return last.key;
    return this.slow(params as AnyParams);
  }

  private slow(params: AnyParams): string {
    if (params === null || typeof params !== 'object') return this.build(this.sourceKey, params);
    const seen = this.byObject.get(params);
    if (seen !== undefined && unchanged(seen, params)) {
      this.last = seen;
      return seen.key;
    }
    const { subject } = params;
    if (typeof subject === 'string' && isSubjectOnly(params)) {
      let key = this.bySubject.get(subject);
      if (key === undefined) {
        key = this.build(this.sourceKey, params);
        this.rememberSubject(subject, key);
      }
      return key;
    }
    const { subjectToken } = params;
    if (typeof subjectToken === 'string' && isOnly(params, 'subjectToken')) {
      // On-behalf-of with the source's defaults: one key string per digest (never per token), so a warm lookup
      // reuses it; the same plain-object rule as the by-subject shortcut, so validation is never skipped.
      const digest = subjectTokenDigest(subjectToken);
      let key = this.bySubjectToken.get(digest);
      if (key === undefined) {
        key = this.build(this.sourceKey, params);
        this.remember(this.bySubjectToken, digest, key);
      }
      return key;
    }
    const key = this.build(this.sourceKey, params);
    if (subjectToken !== undefined) return key;
    const snapshot = snapshotOf(params, key);
    this.byObject.set(params, snapshot);
    this.last = snapshot;
    return key;
  }

  private rememberSubject(subject: string, key: string): void {
    this.remember(this.bySubject, subject, key);
  }

  private remember(map: Map<string, string>, id: string, key: string): void {
    if (map.size >= this.maxSubjects) map.delete(map.keys().next().value!);
    map.set(id, key);
  }
}

function snapshotOf(params: AnyParams, key: string): KeySnapshot {
  const { scopes } = params;
  return {
    params,
    key,
    subject: params.subject,
    audience: params.audience,
    resource: params.resource,
    subjectToken: params.subjectToken,
    scopes,
    scopeValues: Array.isArray(scopes) ? [...scopes] : undefined,
  };
}

/**
 * `{ subject }` and nothing else: a plain object (not a class instance or a Proxy) whose one enumerable name is `subject`.
 * Only such objects may be answered by subject without `build` (which validates): `{ subject, bogus }` may not.
 */
function isSubjectOnly(params: object): boolean {
  return isOnly(params, 'subject');
}

/** A plain, Proxy-free object whose one enumerable name is `field`. */
function isOnly(params: object, field: string): boolean {
  const proto: unknown = Object.getPrototypeOf(params);
  if (proto !== Object.prototype && proto !== null) return false;
  let n = 0;
  for (const name in params) if (name !== field || ++n > 1) return false;
  // `build` refuses a Proxy, so the shortcut may not answer one either.
  return n === 1 && !types.isProxy(params);
}

function unchanged(s: KeySnapshot, params: AnyParams): boolean {
  if (
    params.subject !== s.subject ||
    params.audience !== s.audience ||
    params.resource !== s.resource ||
    params.subjectToken !== s.subjectToken ||
    params.scopes !== s.scopes
  ) {
    return false;
  }
  const values = s.scopeValues;
  if (values === undefined) return true;
  const scopes = params.scopes as unknown[];
  if (scopes.length !== values.length) return false;
  for (let i = 0; i < values.length; i++) if (scopes[i] !== values[i]) return false;
  return true;
}

/**
 * A source's own key: its escaped name, and for a DPoP source (RFC 9449) `|jkt=<thumbprint>` of its key, so
 * tokens bound to one key are never handed to an instance holding another (a shared store).
 */
export function sourceKey(source: string, jkt?: string): string {
  return jkt === undefined ? esc(source) : `${esc(source)}|jkt=${esc(jkt)}`;
}
