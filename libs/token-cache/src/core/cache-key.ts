/** The cache key rule: one key per (source, subject, sorted de-duplicated scopes, audience, resource). */
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
 * A readable, unambiguous key: `source`, then `|sub=`, `|scope=`, `|aud=`, `|res=` parts for what is set.
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
  return key;
}
