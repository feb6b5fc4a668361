import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TokenCacheConfigError, type StoredToken } from 'nestjs-token-cache/core';
import { RedisTokenStore } from 'nestjs-token-cache/redis';
import { fingerprintOfValue, parseEncryptionKey, RedisTokenCodec } from './redis-token-codec.js';

const token: StoredToken = {
  accessToken: 'secret-access-token-value',
  tokenType: 'Bearer',
  expiresAt: Date.now() + 60_000,
  receivedAt: Date.now(),
  scopes: ['a', 'b'],
  source: 'api',
  subject: 'user-1',
};

function configError(fn: () => unknown): TokenCacheConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TokenCacheConfigError);
    return error as TokenCacheConfigError;
  }
  throw new Error('expected a TokenCacheConfigError');
}

describe('encryptionKey parsing', () => {
  const key = randomBytes(32);

  it('accepts a 32-byte Buffer, 64 hex characters, and base64 or base64url of 32 bytes', () => {
    expect(parseEncryptionKey(key).equals(key)).toBe(true);
    expect(parseEncryptionKey(key.toString('hex')).equals(key)).toBe(true);
    expect(parseEncryptionKey(key.toString('hex').toUpperCase()).equals(key)).toBe(true);
    expect(parseEncryptionKey(key.toString('base64')).equals(key)).toBe(true);
    expect(parseEncryptionKey(key.toString('base64url')).equals(key)).toBe(true);
  });

  it.each([
    ['a 31-byte Buffer', randomBytes(31)],
    ['a 33-byte Buffer', randomBytes(33)],
    ['63 hex characters', key.toString('hex').slice(1)],
    ['base64 of 24 bytes', randomBytes(24).toString('base64')],
    ['a passphrase', 'correct horse battery staple'],
    ['an empty string', ''],
    ['a number', 42],
  ])('rejects %s with TokenCacheConfigError("encryptionKey") that never repeats the value', (_, value) => {
    const error = configError(() => parseEncryptionKey(value));
    expect(error.option).toBe('encryptionKey');
    expect(error.message).toMatch(/32 bytes/);
    if (typeof value === 'string' && value !== '') expect(error.message).not.toContain(value);
    if (Buffer.isBuffer(value)) expect(error.message).not.toContain(value.toString('hex'));
  });

  it('is checked by the RedisTokenStore constructor before anything connects', () => {
    expect(configError(() => new RedisTokenStore({ url: 'redis://127.0.0.1:1', encryptionKey: 'too-short' })).option).toBe('encryptionKey');
  });
});

describe('RedisTokenStore options', () => {
  it.each([
    ['url', { url: 'http://localhost:6379' }],
    ['url', { url: '' }],
    ['keyPrefix', { keyPrefix: '' }],
    ['lockTtlMs', { lockTtlMs: 0 }],
    ['lockTtlMs', { lockTtlMs: 1.5 }],
    ['maxEntries', { maxEntries: -1 }],
    ['client', { client: {} }],
  ])('rejects a bad %s with a TokenCacheConfigError naming it', (option, options) => {
    expect(configError(() => new RedisTokenStore(options as never)).option).toBe(option);
  });

  it('rejects client and url together', () => {
    const fakeClient = { duplicate: () => undefined, evalsha: () => undefined };
    expect(configError(() => new RedisTokenStore({ client: fakeClient as never, url: 'redis://127.0.0.1:6379' })).option).toBe('url');
  });
});

describe('RedisTokenCodec', () => {
  const redisKey = 'token-cache:token:api';

  it('round-trips a token in plain JSON without a key', () => {
    const codec = new RedisTokenCodec();
    const value = codec.encode(redisKey, token);
    expect(codec.decode(redisKey, value)).toEqual(token);
    expect(fingerprintOfValue(value)).toBe(codec.fingerprintOf(token.accessToken));
  });

  it('encrypts with AES-256-GCM: the value holds neither the token nor the subject, and differs each time', () => {
    const codec = new RedisTokenCodec(randomBytes(32));
    const a = codec.encode(redisKey, token);
    const b = codec.encode(redisKey, token);
    expect(a).not.toContain(token.accessToken);
    expect(a).not.toContain('user-1');
    expect(a).not.toBe(b);
    expect(codec.decode(redisKey, a)).toEqual(token);
  });

  it('reads a value written with another key, without a key, moved to another Redis key, or tampered with as a miss', () => {
    const key = randomBytes(32);
    const codec = new RedisTokenCodec(key);
    const value = codec.encode(redisKey, token);
    expect(new RedisTokenCodec(randomBytes(32)).decode(redisKey, value)).toBeUndefined();
    expect(new RedisTokenCodec().decode(redisKey, value)).toBeUndefined();
    expect(codec.decode('token-cache:token:other', value)).toBeUndefined();
    const tampered = value.slice(0, -4) + (value.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect(codec.decode(redisKey, tampered)).toBeUndefined();
    // A plain value planted next to encrypted ones is not trusted.
    expect(codec.decode(redisKey, new RedisTokenCodec().encode(redisKey, token))).toBeUndefined();
    for (const junk of [null, undefined, '', 'no-separator', 'fp|p1:{not json', 'fp|p1:{"accessToken":1}']) {
      expect(new RedisTokenCodec().decode(redisKey, junk)).toBeUndefined();
    }
  });

  it.each([
    ['a plain', undefined],
    ['an encrypted', randomBytes(32)],
  ])('reads %s value whose fingerprint prefix does not match its token as a miss', (_, key) => {
    const codec = new RedisTokenCodec(key);
    const value = codec.encode(redisKey, token);
    const other = codec.fingerprintOf('another-token');
    const swapped = other + value.slice(value.indexOf('|'));
    expect(codec.decode(redisKey, swapped)).toBeUndefined();
    expect(codec.decode(redisKey, `|${value.slice(value.indexOf('|') + 1)}`)).toBeUndefined();
    // A fresh codec (no cached fingerprints) reads the untouched value.
    expect(new RedisTokenCodec(key).decode(redisKey, value)).toEqual(token);
  });

  it('keys fingerprints with the encryption key, so Redis holds nothing to check a guessed token against', () => {
    const plain = new RedisTokenCodec().fingerprintOf(token.accessToken);
    const keyed = new RedisTokenCodec(randomBytes(32)).fingerprintOf(token.accessToken);
    expect(keyed).not.toBe(plain);
    expect(keyed).toMatch(/^[\w-]{22}$/);
    expect(keyed).not.toContain(token.accessToken);
  });
});
