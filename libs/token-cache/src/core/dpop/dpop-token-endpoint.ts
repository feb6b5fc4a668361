/**
 * DPoP on token requests (RFC 9449 §5, §8): oauth4webapi's DPoP handle signs the proof of each token
 * request and keeps the nonce the IdP sent; this file makes that handle once per source (so the nonce is
 * kept between fetches) and recognises the reply that asks for a nonce, which the OAuth client answers
 * with exactly one retry. The handle comes from the same oauth4webapi module as the request it is passed
 * to (`genericTokenEndpointRequest` checks it with `instanceof`): a handle made by another copy (e.g.
 * openid-client's nested oauth4webapi) would be refused.
 */
import { DPoP, type Client, type DPoPHandle } from 'oauth4webapi';
import { asksForDPoPNonce } from './dpop-challenge.js';
import type { DPoPKey } from './dpop-key.js';

export class TokenEndpointDPoP {
  #handle?: Promise<DPoPHandle>;

  constructor(readonly key: DPoPKey) {}

  /** The handle for `client` (any client of this source: it only reads the client's clock skew), made once. */
  handle(client: Client): Promise<DPoPHandle> {
    return (this.#handle ??= this.key.keyPair().then((pair) => DPoP(client, pair)));
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `TokenEndpointDPoP { key: ${this.key.toString()} }`;
  }
}

/**
 * A token endpoint reply asking for a DPoP nonce (RFC 9449 §8): a 400 whose body's `error` is
 * `use_dpop_nonce` (or a 401 with a `DPoP error="use_dpop_nonce"` challenge), carrying a `DPoP-Nonce` header.
 */
export function asksForTokenEndpointNonce(status: number, headers: Headers, body: string): boolean {
  if (status !== 400 && status !== 401) return false;
  if (!headers.has('dpop-nonce')) return false;
  if (asksForDPoPNonce(headers.get('www-authenticate'))) return true;
  try {
    return (JSON.parse(body) as { error?: unknown } | null)?.error === 'use_dpop_nonce';
  } catch {
    return false;
  }
}
