/**
 * A source's DPoP key (RFC 9449): the `dpop` option resolved at start (a new ES256 key pair per source, or
 * the user's key), its JWK thumbprint (RFC 7638) for the cache key, and proofs signed with jose.
 *
 * The private key never leaves this object: it is held in private fields (not enumerable, not shown by
 * `util.inspect`, not serialised by `JSON.stringify`), imported once into a non-extractable WebCrypto key,
 * and the object itself prints as `DPoPKey { alg, thumbprint }`.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, randomBytes, webcrypto } from 'node:crypto';
import { inspect } from 'node:util';
import { SignJWT } from 'jose';
import { TokenCacheConfigError } from '../token-cache.errors.js';
import { messages } from '../token-cache.messages.js';
import { assertKnownOptions, describeValue } from '../validate.js';
import { DPOP_OPTION_NAMES } from '../sources/source-options.js';
import { dpopMessages } from './dpop.messages.js';
import { DPoPNonces } from './dpop-nonces.js';

type CryptoKey = webcrypto.CryptoKey;

/** A key as the `dpop` option takes it: a PEM string (PKCS#8, PKCS#1, SEC1 or SPKI), a JWK, a `KeyObject` or a WebCrypto `CryptoKey`. */
export type DPoPKeyMaterial = CryptoKey | KeyObject | webcrypto.JsonWebKey | string;

/** Your own DPoP key pair. */
export interface DPoPKeyOptions {
  /** The private key proofs are signed with. Never exported, logged or stored. */
  privateKey: DPoPKeyMaterial;
  /** Optional: derived from `privateKey` when absent; when given, it must be the same pair's public half. */
  publicKey?: DPoPKeyMaterial;
  /**
   * JWS algorithm of the proofs. Default from the key: `ES256`/`ES384`/`ES512` for EC P-256/P-384/P-521,
   * `RS256` for RSA (`RS384`, `RS512`, `PS256`, `PS384`, `PS512` on request), `Ed25519` for Ed25519
   * (`EdDSA` accepted). A WebCrypto key's own algorithm decides it.
   */
  alg?: string;
}

/**
 * The `dpop` option of an OAuth source (RFC 9449): `true` generates an ES256 key pair for the source when it
 * is created (kept in memory, never exported: a restart makes a new key, and so new tokens); an object brings
 * your own key (the same key on every instance lets them share DPoP-bound tokens through a shared store).
 * `false`/absent: no DPoP.
 */
export type DPoPOption = boolean | DPoPKeyOptions;

/** What a proof is for (RFC 9449 §4.2). */
export interface DPoPProofInput {
  /** The HTTP method, e.g. `GET` (upper-cased here). */
  htm: string;
  /** The request URL; query and fragment are removed (`htu`). */
  url: string | URL;
  /** The access token the request carries: its hash becomes `ath`. Absent for token requests. */
  accessToken?: string;
  /** The server's nonce; default the one last remembered for the URL's origin (`nonces`). */
  nonce?: string;
}

interface KeyAlgorithm {
  alg: string;
  params: webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams | webcrypto.Algorithm;
}

const EC_ALGS: Record<string, KeyAlgorithm> = {
  'P-256': { alg: 'ES256', params: { name: 'ECDSA', namedCurve: 'P-256' } as webcrypto.EcKeyImportParams },
  'P-384': { alg: 'ES384', params: { name: 'ECDSA', namedCurve: 'P-384' } as webcrypto.EcKeyImportParams },
  'P-521': { alg: 'ES512', params: { name: 'ECDSA', namedCurve: 'P-521' } as webcrypto.EcKeyImportParams },
};
const NODE_CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
const RSA_ALGS: Record<string, KeyAlgorithm> = Object.fromEntries(
  (['256', '384', '512'] as const).flatMap((bits) => [
    [`RS${bits}`, { alg: `RS${bits}`, params: { name: 'RSASSA-PKCS1-v1_5', hash: `SHA-${bits}` } as webcrypto.RsaHashedImportParams }],
    [`PS${bits}`, { alg: `PS${bits}`, params: { name: 'RSA-PSS', hash: `SHA-${bits}` } as webcrypto.RsaHashedImportParams }],
  ]),
);
const ED25519: KeyAlgorithm = { alg: 'Ed25519', params: { name: 'Ed25519' } };

/** The result of resolving the `dpop` option: the key, and the texts to redact from every message. */
export interface ResolvedDPoP {
  key: DPoPKey;
  /** The private key as the user wrote it (PEM text, JWK private members): redacted like a client secret. */
  secrets: string[];
}

/**
 * Resolves a source's `dpop` option at once, so a bad key is a TokenCacheConfigError at startup naming
 * `option` (e.g. `clientCredentials.dpop.privateKey`). Undefined when DPoP is off.
 */
export function resolveDPoPOption(option: string, value: unknown, now: () => number = Date.now): ResolvedDPoP | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    return { key: DPoPKey.fromKeyObject(privateKey, EC_ALGS['P-256']!, now), secrets: [] };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || isKeyLike(value) || !('privateKey' in value)) {
    throw new TokenCacheConfigError(option, messages.config(option, `${dpopMessages.expectedOption()}; got ${describeValue(value)}`));
  }
  assertKnownOptions(value, DPOP_OPTION_NAMES, `${option}.`);
  const { privateKey, publicKey, alg } = value as DPoPKeyOptions;
  if (alg !== undefined && (typeof alg !== 'string' || alg === '')) {
    throw new TokenCacheConfigError(`${option}.alg`, messages.config(`${option}.alg`, `expected a JWS algorithm name such as 'ES256', got ${describeValue(alg)}`));
  }
  const secrets = secretTextsOf(privateKey);
  const fail = (field: string, problem: string): never => {
    throw new TokenCacheConfigError(`${option}.${field}`, messages.config(`${option}.${field}`, problem));
  };

  let key: DPoPKey;
  if (isCryptoKey(privateKey)) {
    if (privateKey.type !== 'private') fail('privateKey', dpopMessages.notPrivate());
    if (!privateKey.usages.includes('sign')) fail('privateKey', dpopMessages.cryptoKeyUsage());
    const own = algorithmOfCryptoKey(privateKey);
    if (own === undefined) fail('privateKey', dpopMessages.unsupportedKey(privateKey.algorithm.name));
    if (alg !== undefined && !sameAlg(alg, own!.alg)) fail('alg', dpopMessages.badAlg(alg, [own!.alg]));
    if (own!.params.name.startsWith('RSA')) checkRsaBits(KeyObject.from(privateKey), (p) => fail('privateKey', p));
    key = DPoPKey.fromCryptoKey(privateKey, KeyObject.from(privateKey), own!, now);
  } else {
    const keyObject = readKey(privateKey, 'private', () => fail('privateKey', dpopMessages.unreadable('private key')));
    if (keyObject.type !== 'private') fail('privateKey', dpopMessages.notPrivate());
    const chosen = algorithmOfKeyObject(keyObject, alg, (field, p) => fail(field, p));
    key = DPoPKey.fromKeyObject(keyObject, chosen, now);
  }
  if (publicKey !== undefined) {
    // A private key given as `publicKey` would be derived from silently: refuse it, it belongs in `privateKey`.
    if (secretTextsOf(publicKey).length > 0 || (typeof publicKey === 'string' && publicKey.includes('PRIVATE KEY'))) {
      fail('publicKey', dpopMessages.notPublic());
    }
    const given = isCryptoKey(publicKey)
      ? KeyObject.from(publicKey)
      : readKey(publicKey, 'public', () => fail('publicKey', dpopMessages.unreadable('public key')));
    const publicObject = given.type === 'private' ? fail('publicKey', dpopMessages.notPublic()) : given;
    const jwk = publicObject.export({ format: 'jwk' }) as webcrypto.JsonWebKey;
    if (jwkThumbprint(jwk) !== key.thumbprint) fail('publicKey', dpopMessages.mismatch());
  }
  return { key, secrets };
}

/**
 * One source's DPoP key pair. Build it with the `dpop` option of a source; reach it with
 * `cache.dpopKey(source)` to sign proofs for an HTTP client of your own.
 */
export class DPoPKey {
  /** The JWS algorithm of the proofs, e.g. `ES256`. */
  readonly alg: string;
  /** The RFC 7638 JWK SHA-256 thumbprint of the public key (base64url): what the IdP binds tokens to (`cnf.jkt`). */
  readonly thumbprint: string;
  /** The public key as a JWK (public members only), as sent in every proof's `jwk` header. */
  readonly publicJwk: Readonly<webcrypto.JsonWebKey>;
  /** The nonces servers sent (`DPoP-Nonce`), per origin; put in later proofs for that origin. */
  readonly nonces = new DPoPNonces();

  readonly #params: KeyAlgorithm['params'];
  readonly #now: () => number;
  /** The key as given (KeyObject) or, for a CryptoKey, the key itself: imported once, on first use. */
  readonly #material: KeyObject | CryptoKey;
  #keyPair?: Promise<webcrypto.CryptoKeyPair>;
  readonly #athMemo = new Map<string, string>();

  private constructor(material: KeyObject | CryptoKey, publicObject: KeyObject, algorithm: KeyAlgorithm, now: () => number) {
    this.#material = material;
    this.#params = algorithm.params;
    this.#now = now;
    this.alg = algorithm.alg;
    const { kty, crv, x, y, n, e } = publicObject.export({ format: 'jwk' }) as webcrypto.JsonWebKey;
    const jwk: webcrypto.JsonWebKey = kty === 'RSA' ? { kty, n, e } : y === undefined ? { kty, crv, x } : { kty, crv, x, y };
    this.publicJwk = Object.freeze(jwk);
    this.thumbprint = jwkThumbprint(jwk);
  }

  /** @internal */
  static fromKeyObject(privateKey: KeyObject, algorithm: KeyAlgorithm, now: () => number): DPoPKey {
    return new DPoPKey(privateKey, createPublicKey(privateKey), algorithm, now);
  }

  /** @internal */
  static fromCryptoKey(privateKey: CryptoKey, asKeyObject: KeyObject, algorithm: KeyAlgorithm, now: () => number): DPoPKey {
    return new DPoPKey(privateKey, createPublicKey(asKeyObject), algorithm, now);
  }

  /**
   * The WebCrypto key pair (private key non-extractable), imported once: what oauth4webapi's DPoP handle
   * takes for token requests.
   */
  keyPair(): Promise<webcrypto.CryptoKeyPair> {
    return (this.#keyPair ??= this.importKeyPair());
  }

  private async importKeyPair(): Promise<webcrypto.CryptoKeyPair> {
    const material = this.#material;
    const privateKey = isCryptoKey(material)
      ? material
      : await webcrypto.subtle.importKey('pkcs8', material.export({ format: 'der', type: 'pkcs8' }), this.#params, false, ['sign']);
    const publicKey = await webcrypto.subtle.importKey('jwk', { ...this.publicJwk }, this.#params, true, ['verify']);
    return { privateKey, publicKey };
  }

  /**
   * A DPoP proof JWT (RFC 9449 §4.2): header `typ: dpop+jwt`, `alg`, `jwk`; claims `jti` (random), `htm`,
   * `htu` (the URL without query and fragment), `iat` (now, in seconds), `ath` (base64url SHA-256 of the
   * access token, when given) and `nonce` (the given one, else the one remembered for the URL's origin).
   */
  async proof(input: DPoPProofInput): Promise<string> {
    const url = input.url instanceof URL ? input.url : new URL(input.url);
    const nonce = input.nonce ?? this.nonces.get(url);
    const claims: Record<string, string> = { htm: input.htm.toUpperCase(), htu: htuOf(url) };
    if (input.accessToken !== undefined) claims.ath = this.athOf(input.accessToken);
    if (nonce !== undefined) claims.nonce = nonce;
    const { privateKey } = await this.keyPair();
    return new SignJWT(claims)
      .setProtectedHeader({ alg: this.alg, typ: 'dpop+jwt', jwk: this.publicJwk as Record<string, string> })
      .setIssuedAt(Math.floor(this.#now() / 1000))
      .setJti(randomBytes(16).toString('base64url'))
      .sign(privateKey);
  }

  /** `ath`: the access token's SHA-256, base64url. Remembered for the few tokens in use. */
  private athOf(accessToken: string): string {
    let ath = this.#athMemo.get(accessToken);
    if (ath === undefined) {
      ath = createHash('sha256').update(accessToken).digest('base64url');
      if (this.#athMemo.size >= 64) this.#athMemo.clear();
      this.#athMemo.set(accessToken, ath);
    }
    return ath;
  }

  /** Only public facts: `{ alg, thumbprint }`. */
  toJSON(): { alg: string; thumbprint: string } {
    return { alg: this.alg, thumbprint: this.thumbprint };
  }

  [inspect.custom](): string {
    return `DPoPKey { alg: '${this.alg}', thumbprint: '${this.thumbprint}' }`;
  }

  toString(): string {
    return `DPoPKey(${this.alg}, ${this.thumbprint})`;
  }
}

/** `htu` (RFC 9449 §4.2): the URL without query and fragment (and without user info). */
export function htuOf(url: URL | string): string {
  const u = url instanceof URL ? url : new URL(url);
  return `${u.origin}${u.pathname}`;
}

/**
 * The RFC 7638 JWK SHA-256 thumbprint: the required public members in lexicographic order, no whitespace,
 * hashed, base64url. Computed synchronously because it is part of the cache key, fixed when the cache starts;
 * the spec checks it against jose's `calculateJwkThumbprint`.
 */
export function jwkThumbprint(jwk: webcrypto.JsonWebKey): string {
  let members: Record<string, unknown>;
  switch (jwk.kty) {
    case 'EC':
      members = { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
      break;
    case 'RSA':
      members = { e: jwk.e, kty: jwk.kty, n: jwk.n };
      break;
    case 'OKP':
      members = { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
      break;
    default:
      throw new TypeError(`unsupported JWK key type "${String(jwk.kty)}"`);
  }
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

function readKey(material: unknown, kind: 'private' | 'public', fail: () => never): KeyObject {
  try {
    if (material instanceof KeyObject) return material;
    if (typeof material === 'string' || Buffer.isBuffer(material)) {
      return kind === 'private' ? createPrivateKey(material) : createPublicKey(material);
    }
    if (material !== null && typeof material === 'object') {
      const jwk = material as webcrypto.JsonWebKey;
      return kind === 'private' && typeof jwk.d === 'string'
        ? createPrivateKey({ key: jwk as never, format: 'jwk' })
        : createPublicKey({ key: jwk as never, format: 'jwk' });
    }
  } catch {
    // fall through to fail()
  }
  return fail();
}

function algorithmOfKeyObject(key: KeyObject, alg: string | undefined, fail: (field: string, problem: string) => never): KeyAlgorithm {
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const own = EC_ALGS[NODE_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''] ?? ''];
      if (own === undefined) return fail('privateKey', dpopMessages.unsupportedKey(`EC ${key.asymmetricKeyDetails?.namedCurve ?? ''}`.trim()));
      if (alg !== undefined && alg !== own.alg) return fail('alg', dpopMessages.badAlg(alg, [own.alg]));
      return own;
    }
    case 'rsa': {
      checkRsaBits(key, (p) => fail('privateKey', p));
      const allowed = Object.keys(RSA_ALGS);
      const chosen = alg ?? 'RS256';
      if (!allowed.includes(chosen)) return fail('alg', dpopMessages.badAlg(chosen, allowed));
      return RSA_ALGS[chosen]!;
    }
    case 'rsa-pss':
      // Node 20 can't export an RSA-PSS-only key as a JWK (for the proof's `jwk` header).
      return fail('privateKey', dpopMessages.rsaPssOnly());
    case 'ed25519':
      if (alg !== undefined && !sameAlg(alg, 'Ed25519')) return fail('alg', dpopMessages.badAlg(alg, ['Ed25519', 'EdDSA']));
      return alg === 'EdDSA' ? { ...ED25519, alg: 'EdDSA' } : ED25519;
    default:
      return fail('privateKey', dpopMessages.unsupportedKey(String(key.asymmetricKeyType ?? key.type)));
  }
}

function algorithmOfCryptoKey(key: CryptoKey): KeyAlgorithm | undefined {
  const algorithm = key.algorithm as webcrypto.KeyAlgorithm & { namedCurve?: string; hash?: { name: string } };
  switch (algorithm.name) {
    case 'ECDSA':
      return EC_ALGS[algorithm.namedCurve ?? ''];
    case 'RSASSA-PKCS1-v1_5':
    case 'RSA-PSS': {
      const bits = algorithm.hash?.name.replace('SHA-', '') ?? '';
      return RSA_ALGS[`${algorithm.name === 'RSA-PSS' ? 'PS' : 'RS'}${bits}`];
    }
    case 'Ed25519':
      return ED25519;
    default:
      return undefined;
  }
}

function checkRsaBits(key: KeyObject, fail: (problem: string) => never): void {
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < 2048) fail(dpopMessages.rsaTooSmall(bits));
}

const sameAlg = (a: string, b: string) => a === b || (a === 'EdDSA' && b === 'Ed25519');

/** `CryptoKey` is a global from Node 20 on (not on `webcrypto` there). */
function isCryptoKey(value: unknown): value is CryptoKey {
  const CryptoKeyClass = (globalThis as { CryptoKey?: abstract new () => unknown }).CryptoKey;
  return CryptoKeyClass !== undefined && value instanceof CryptoKeyClass;
}

function isKeyLike(value: object): boolean {
  return value instanceof KeyObject || isCryptoKey(value) || Buffer.isBuffer(value);
}

/** The private key as text the user wrote (PEM, JWK private members): kept out of every message. */
function secretTextsOf(material: unknown): string[] {
  // The whole PEM and each of its base64 lines: a message quoting one line must not pass either.
  if (typeof material === 'string') return [material.trim(), ...material.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length >= 16 && !l.startsWith('-----'))];
  if (material === null || typeof material !== 'object' || isKeyLike(material)) return [];
  const out: string[] = [];
  for (const part of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const) {
    const v = (material as Record<string, unknown>)[part];
    if (typeof v === 'string' && v !== '') out.push(v);
  }
  return out;
}
