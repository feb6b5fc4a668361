/** The cache key rule: one key per (source, subject, sorted de-duplicated scopes, audience, resource). */
import type { TokenParams } from './token-cache.types.js';

/** Scopes as the key sees them: trimmed, split on spaces, de-duplicated, sorted; undefined when none. */
export function normalizeScopes(scopes: string[] | string | undefined): string[] | undefined {
  if (scopes === undefined) return undefined;
  const list = (Array.isArray(scopes) ? scopes : [scopes]).flatMap((s) => String(s).split(/\s+/)).filter(Boolean);
  if (list.length === 0) return undefined;
  return [...new Set(list)].sort();
}

const enc = encodeURIComponent;

/**
 * A readable, unambiguous key: `source`, then `|sub=`, `|scope=`, `|aud=`, `|res=` parts for what is set.
 * Values are URI-encoded so that `|` and `=` inside them can't make two requests collide.
 */
export function cacheKey(source: string, params?: TokenParams): string {
  let key = enc(source);
  if (params === undefined) return key;
  const { subject, audience, resource } = params;
  const scopes = normalizeScopes(params.scopes);
  if (subject !== undefined && subject !== '') key += `|sub=${enc(subject)}`;
  if (scopes !== undefined) key += `|scope=${scopes.map(enc).join('+')}`;
  if (audience !== undefined && audience !== '') key += `|aud=${enc(audience)}`;
  if (resource !== undefined && resource !== '') key += `|res=${enc(resource)}`;
  return key;
}
