import { describe, expect, it } from 'vitest';
import { DPoPNonces } from './dpop-nonces.js';

describe('DPoPNonces', () => {
  it('keeps the latest nonce per origin (scheme, host, port), whatever the path', () => {
    const n = new DPoPNonces();
    expect(n.remember('https://api.example/a?x=1', 'one')).toBe(true);
    expect(n.get('https://api.example/b')).toBe('one');
    expect(n.get('https://api.example:8443/b')).toBeUndefined();
    expect(n.get('http://api.example/b')).toBeUndefined();
    n.remember(new URL('https://api.example/c'), 'two');
    expect(n.get(new URL('https://api.example/'))).toBe('two');
  });

  it('ignores absent, empty, malformed (quote, backslash, space, control, non-ASCII) and huge values; takes the last of an array', () => {
    const n = new DPoPNonces();
    for (const bad of [undefined, null, '', ' ', 'a"b', 'a\\b', 'a b', 'a\nb', 'é', 'x'.repeat(1025), 42]) {
      expect(n.remember('https://api.example/', bad)).toBe(false);
    }
    expect(n.size).toBe(0);
    expect(n.remember('not a url', 'ok')).toBe(false);
    expect(n.remember('https://api.example/', ['old', 'new'])).toBe(true);
    expect(n.get('https://api.example/')).toBe('new');
    expect(n.get('not a url')).toBeUndefined();
  });

  it('is bounded: the least recently used origin goes first', () => {
    const n = new DPoPNonces(2);
    n.remember('https://a.example/', 'a');
    n.remember('https://b.example/', 'b');
    expect(n.get('https://a.example/')).toBe('a'); // a is now the most recent
    n.remember('https://c.example/', 'c');
    expect(n.size).toBe(2);
    expect(n.get('https://b.example/')).toBeUndefined();
    expect(n.get('https://a.example/')).toBe('a');
  });
});
