/**
 * The encodings a secret can leak in, generated independently of the library's redaction (a scanner must not
 * share the code it checks): raw, percent (upper and lower hex), form (`+` for space, as URLSearchParams and
 * an IdP echoing a form body do), RFC 6749 §2.3.1 form (how a Basic credential's parts are encoded),
 * JSON-escaped, base64 and base64url (whole, and the part that depends on the secret alone at each of the three
 * byte alignments it can have inside a larger blob such as `base64("client:" + secret)`), and for a JWT its
 * signature alone. A scanner searches for every one; a test that adds a secret gets them all.
 */
export type Encoding = 'raw' | 'percent' | 'percent-lower' | 'form' | 'oauth-form' | 'json' | 'base64' | 'base64url' | 'base64-inner' | 'base64url-inner' | 'jwt-signature';

function oauthForm(value: string): string {
  return encodeURIComponent(value).replace(/[-_.!~*'()]|%20/g, (m) => (m === '%20' ? '+' : `%${m.charCodeAt(0).toString(16).toUpperCase()}`));
}

/** Every encoding of `secret`, each with its name (duplicates kept: a raw-safe secret's percent form is itself). */
export function encodingsOf(secret: string): { encoding: Encoding; text: string }[] {
  const out: { encoding: Encoding; text: string }[] = [
    { encoding: 'raw', text: secret },
    { encoding: 'percent', text: encodeURIComponent(secret) },
    { encoding: 'percent-lower', text: encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()) },
    { encoding: 'form', text: new URLSearchParams({ v: secret }).toString().slice(2) },
    { encoding: 'oauth-form', text: oauthForm(secret) },
    { encoding: 'json', text: JSON.stringify(secret).slice(1, -1) },
  ];
  const bytes = Buffer.from(secret);
  for (const enc of ['base64', 'base64url'] as const) {
    out.push({ encoding: enc, text: bytes.toString(enc).replace(/=+$/, '') });
    for (let k = 0; k < 3; k++) {
      const shifted = Buffer.concat([Buffer.alloc(k, 0x41), bytes]).toString(enc).replace(/=+$/, '');
      // Skip the characters that mix in the prefix, and the last one (it mixes in whatever follows).
      const inner = shifted.slice(Math.ceil((8 * k) / 6), Math.floor((8 * (k + bytes.length)) / 6) - 1);
      if (inner.length >= 8) out.push({ encoding: `${enc}-inner`, text: inner });
    }
  }
  if (/^eyJ[\w-]+\.[\w-]+\.[\w-]{16,}$/.test(secret)) out.push({ encoding: 'jwt-signature', text: secret.split('.')[2]! });
  return out;
}

/**
 * Each secret in each encoding, joined: what a careless IdP echoes back in an error reply. A secret inside a
 * base64 blob is echoed as the whole blob (`base64("svc:" + secret)`, at each alignment), as a Basic credential is.
 */
export function echoOf(secrets: readonly string[]): string {
  return secrets
    .flatMap((s) => [
      ...encodingsOf(s).filter((e) => !e.encoding.endsWith('-inner')).map((e) => `${e.encoding}:${e.text}`),
      ...['svc:', 'ab:', 'a:'].flatMap((prefix) => ['base64', 'base64url'].map((enc) => `blob:${Buffer.from(`${prefix}${s}:end`).toString(enc as BufferEncoding)}`)),
    ])
    .join(' ');
}

/**
 * Where in `outputs` any secret shows up, in any encoding: one line per leak, naming the output, the encoding
 * and a little context (never the secret itself, so a failing test does not print it whole).
 */
export function findLeaks(secrets: Iterable<string>, outputs: readonly { what: string; text: string }[]): string[] {
  const leaks: string[] = [];
  for (const secret of secrets) {
    for (const { encoding, text } of encodingsOf(secret)) {
      for (const output of outputs) {
        const at = output.text.indexOf(text);
        if (at >= 0) leaks.push(`${output.what} [${encoding} of ${secret.slice(0, 6)}…]: …${output.text.slice(Math.max(0, at - 60), at).replace(/\s+/g, ' ')}<HERE>…`);
      }
    }
  }
  return leaks;
}
