/**
 * Reading `WWW-Authenticate` challenges (RFC 9110 §11.6.1) for DPoP: whether a reply asks for a nonce
 * (RFC 9449 §9, `DPoP error="use_dpop_nonce"`).
 */

export interface AuthChallenge {
  /** Lower-cased, e.g. `dpop`, `bearer`. */
  scheme: string;
  /** auth-param names lower-cased, values unquoted. */
  params: Record<string, string>;
}

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;

/** The challenges of one or more `WWW-Authenticate` values (an array, or values joined by commas). */
export function parseChallenges(header: unknown): AuthChallenge[] {
  const text = Array.isArray(header) ? header.map(String).join(', ') : typeof header === 'string' ? header : '';
  const out: AuthChallenge[] = [];
  let current: AuthChallenge | undefined;
  let afterComma = true;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === ',') {
      afterComma = true;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(text);
    if (m === null) {
      i++; // stray character: skip it
      continue;
    }
    const name = m[0];
    i += name.length;
    let j = i;
    while (j < n && (text[j] === ' ' || text[j] === '\t')) j++;
    if (text[j] === '=' && text[j + 1] !== '=' && current !== undefined && j + 1 < n) {
      // auth-param: token BWS "=" BWS ( token / quoted-string )
      i = j + 1;
      while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
      let value = '';
      if (text[i] === '"') {
        i++;
        while (i < n && text[i] !== '"') {
          if (text[i] === '\\' && i + 1 < n) i++;
          value += text[i];
          i++;
        }
        i++; // closing quote
      } else {
        TOKEN.lastIndex = i;
        const v = TOKEN.exec(text);
        if (v !== null) {
          value = v[0];
          i += value.length;
        }
      }
      current.params[name.toLowerCase()] = value;
      afterComma = false;
      continue;
    }
    if (!afterComma && current !== undefined && Object.keys(current.params).length === 0) {
      // token68 right after the scheme (`Basic abc==`): skip it and its padding
      while (i < n && text[i] === '=') i++;
      continue;
    }
    current = { scheme: name.toLowerCase(), params: {} };
    out.push(current);
    afterComma = false;
  }
  return out;
}

/** A reply that asks for a DPoP nonce: a `DPoP` challenge with `error="use_dpop_nonce"` (RFC 9449 §9). */
export function asksForDPoPNonce(wwwAuthenticate: unknown): boolean {
  if (wwwAuthenticate === undefined || wwwAuthenticate === null) return false;
  return parseChallenges(wwwAuthenticate).some((c) => c.scheme === 'dpop' && c.params.error === 'use_dpop_nonce');
}
