import { describe, expect, it } from 'vitest';
import { TokenCacheConfigError } from '../core/token-cache.errors.js';
import { escapeTag, hashTagOf, RedisKeyLayout } from './redis-key-layout.js';

describe('RedisKeyLayout', () => {
  it('puts every key of one cache key under one hash tag, after the prefix', () => {
    const keys = new RedisKeyLayout('token-cache:');
    expect(keys.token('api|sub=alice')).toBe('token-cache:{api|sub=alice}:token');
    expect(keys.lock('api|sub=alice')).toBe('token-cache:{api|sub=alice}:lock');
    expect(keys.channel).toBe('token-cache:events');
  });

  it('keeps a token and its lock in one slot whatever the key and prefix hold (braces, unbalanced tags, %)', () => {
    const prefixes = ['token-cache:', 'a{b:', '{app}:', 'x}y:', '{{', 'p%'];
    const cacheKeys = ['api', '}x', '{', '{}', 'a}b{c', 'sub=%7B', '%', 'api|sub={alice}'];
    for (const prefix of prefixes) {
      const keys = new RedisKeyLayout(prefix);
      for (const key of cacheKeys) {
        const tag = hashTagOf(keys.token(key));
        expect(hashTagOf(keys.lock(key)), `${prefix} ${key}`).toBe(tag);
        expect(hashTagOf(keys.of(key, 'value')), `${prefix} ${key}`).toBe(tag);
        expect(tag).not.toBe(keys.token(key)); // a real tag, never the whole key
      }
    }
  });

  it('never maps two cache keys to one Redis key (escaping is one to one)', () => {
    const keys = new RedisKeyLayout('p:');
    const cacheKeys = ['{', '%7B', '%257B', '}', '%7D', '%', '%25'];
    expect(new Set(cacheKeys.map((k) => keys.token(k))).size).toBe(cacheKeys.length);
    expect(escapeTag('api|sub=alice')).toBe('api|sub=alice');
  });

  it('refuses a prefix that is empty, not a string, or starts an empty hash tag', () => {
    for (const bad of ['', 'a{}b', '{}', 42, null]) {
      expect(() => new RedisKeyLayout(bad as string)).toThrow(TokenCacheConfigError);
    }
    expect(() => new RedisKeyLayout('{}')).toThrow(/keyPrefix/);
  });
});

describe('hashTagOf (Redis Cluster rule)', () => {
  it('hashes the text between the first { and the next }, or the whole key when that is empty or missing', () => {
    expect(hashTagOf('a{b}c')).toBe('b');
    expect(hashTagOf('a{}b{c}')).toBe('a{}b{c}');
    expect(hashTagOf('a{b')).toBe('a{b');
    expect(hashTagOf('plain')).toBe('plain');
    expect(hashTagOf('{a}{b}')).toBe('a');
  });
});
