/**
 * How a `StoredToken` is written to Redis: `<fingerprint>|<payload>`. The fingerprint (an HMAC of the access
 * token, never the token) lets Lua scripts compare-and-delete without reading the payload, which is JSON or,
 * with an `encryptionKey`, AES-256-GCM ciphertext bound to its Redis key.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { TokenCacheConfigError } from '../core/token-cache.errors.js';
import type { StoredToken } from '../core/token-store.interface.js';
import { redisMessages } from './redis-token-store.messages.js';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ENCRYPTED = 'e1:';
const PLAIN = 'p1:';
/** Separates the fingerprint from the payload; base64url never contains it. */
export const FINGERPRINT_SEPARATOR = '|';

/**
 * A 32-byte Buffer, 64 hex characters, or base64 (standard or url-safe) of 32 bytes. Anything else is a
 * `TokenCacheConfigError('encryptionKey')` whose message never repeats the value.
 */
export function parseEncryptionKey(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) {
    if (value.length === KEY_BYTES) return Buffer.from(value);
    throw new TokenCacheConfigError('encryptionKey', redisMessages.badEncryptionKey(`a Buffer of ${value.length} bytes`));
  }
  if (typeof value === 'string') {
    const text = value.trim();
    if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
    if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(text)) {
      const bytes = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
      if (bytes.length === KEY_BYTES) return bytes;
    }
    throw new TokenCacheConfigError('encryptionKey', redisMessages.badEncryptionKey(`a string of ${text.length} characters that is neither`));
  }
  throw new TokenCacheConfigError('encryptionKey', redisMessages.badEncryptionKey(value === null ? 'null' : typeof value));
}

export class RedisTokenCodec {
  private readonly encryptionKey?: Buffer;
  private readonly fingerprintKey: Buffer;
  /** Fingerprints of tokens already seen: the same object is asked for again on every pub/sub message. */
  private readonly fingerprints = new WeakMap<StoredToken, string>();

  constructor(encryptionKey?: Buffer) {
    this.encryptionKey = encryptionKey;
    // With a key, fingerprints are keyed too, so Redis holds nothing that can be checked against a guessed token.
    this.fingerprintKey =
      encryptionKey === undefined
        ? Buffer.from('nestjs-token-cache fingerprint')
        : Buffer.from(hkdfSync('sha256', encryptionKey, Buffer.alloc(0), 'nestjs-token-cache fingerprint', KEY_BYTES));
  }

  /** 128 bits of HMAC-SHA256 of the access token, base64url. */
  fingerprintOf(accessToken: string): string {
    return createHmac('sha256', this.fingerprintKey).update(accessToken).digest().subarray(0, 16).toString('base64url');
  }

  fingerprint(token: StoredToken): string {
    let fp = this.fingerprints.get(token);
    if (fp === undefined) {
      fp = this.fingerprintOf(token.accessToken);
      this.fingerprints.set(token, fp);
    }
    return fp;
  }

  /** The Redis value for `token` stored under `redisKey` (the key is authenticated data: values can't be moved). */
  encode(redisKey: string, token: StoredToken): string {
    return this.fingerprint(token) + FINGERPRINT_SEPARATOR + this.encodeSecret(redisKey, JSON.stringify(token));
  }

  /** A shared secret (a rotated refresh token) for `redisKey`: AES-256-GCM with the store's key when it has one. */
  encodeSecret(redisKey: string, secret: string): string {
    if (this.encryptionKey === undefined) return PLAIN + secret;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.encryptionKey, iv);
    cipher.setAAD(Buffer.from(redisKey));
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return ENCRYPTED + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  /** The secret in a value written by `encodeSecret`, or undefined when it can't be read with this store's settings. */
  decodeSecret(redisKey: string, value: string | null | undefined): string | undefined {
    if (typeof value !== 'string') return undefined;
    try {
      return this.open(redisKey, value);
    } catch {
      return undefined;
    }
  }

  /** The plain text of a payload (`p1:` or `e1:`), undefined when it is the wrong kind for this store; throws when tampered. */
  private open(redisKey: string, payload: string): string | undefined {
    if (this.encryptionKey === undefined) return payload.startsWith(PLAIN) ? payload.slice(PLAIN.length) : undefined;
    // An unencrypted value is not trusted when a key is configured: anyone with Redis access could plant it.
    if (!payload.startsWith(ENCRYPTED)) return undefined;
    const bytes = Buffer.from(payload.slice(ENCRYPTED.length), 'base64');
    if (bytes.length <= IV_BYTES + TAG_BYTES) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', this.encryptionKey, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(redisKey));
    decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  }

  /**
   * The token in a Redis value, or undefined when it can't be read with this store's settings: a wrong or
   * missing key, a plain value while a key is set, tampering, or anything not written by this codec. The
   * fingerprint prefix is outside the GCM-authenticated data, so it is recomputed and must match: a planted
   * prefix could otherwise steer the compare-and-delete and compare-and-set scripts.
   */
  decode(redisKey: string, value: string | null | undefined): StoredToken | undefined {
    if (typeof value !== 'string') return undefined;
    const at = value.indexOf(FINGERPRINT_SEPARATOR);
    if (at < 0) return undefined;
    const payload = value.slice(at + 1);
    try {
      const json = this.open(redisKey, payload);
      if (json === undefined) return undefined;
      const token = toStoredToken(JSON.parse(json));
      if (token === undefined || this.fingerprint(token) !== value.slice(0, at)) return undefined;
      return token;
    } catch {
      return undefined;
    }
  }
}

/** The fingerprint part of a raw Redis value ('' for none). */
export function fingerprintOfValue(value: string | null | undefined): string {
  if (typeof value !== 'string') return '';
  const at = value.indexOf(FINGERPRINT_SEPARATOR);
  return at < 0 ? '' : value.slice(0, at);
}

function toStoredToken(value: unknown): StoredToken | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const t = value as Record<string, unknown>;
  if (typeof t.accessToken !== 'string' || t.accessToken === '') return undefined;
  if (typeof t.tokenType !== 'string' || typeof t.source !== 'string') return undefined;
  if (typeof t.expiresAt !== 'number' || typeof t.receivedAt !== 'number') return undefined;
  if (t.scopes !== undefined && !isStringArray(t.scopes)) return undefined;
  if (t.requestedScopes !== undefined && !isStringArray(t.requestedScopes)) return undefined;
  for (const field of ['subject', 'audience', 'resource'] as const) {
    if (t[field] !== undefined && typeof t[field] !== 'string') return undefined;
  }
  return value as StoredToken;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}
