import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { capBySubjectToken, subjectTokenDigest, subjectTokenExpiresAt } from './subject-token.js';

const jwt = (payload: unknown) =>
  `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.c2ln`;

describe('subject token rules', () => {
  it('digest: base64url SHA-256, one per token', () => {
    expect(subjectTokenDigest('a')).toMatch(/^[\w-]{43}$/);
    expect(subjectTokenDigest('a')).not.toBe(subjectTokenDigest('b'));
  });

  it('digest: the same SHA-256 whether remembered or not (more tokens than the memo holds, then the first again)', () => {
    const sha = (t: string) => createHash('sha256').update(t).digest('base64url');
    const tokens = Array.from({ length: 1_500 }, (_, i) => `subject-token-${i}`);
    for (const t of tokens) expect(subjectTokenDigest(t)).toBe(sha(t));
    for (const t of [tokens[0]!, tokens[1_499]!, tokens[0]!]) expect(subjectTokenDigest(t)).toBe(sha(t));
  });

  it('expiry: the JWT exp in ms; undefined for opaque tokens, JWE, bad payloads and non-numeric exp', () => {
    expect(subjectTokenExpiresAt(jwt({ exp: 2_000_000_000 }))).toBe(2_000_000_000_000);
    for (const t of ['opaque-token', jwt({ sub: 'x' }), jwt({ exp: '2000000000' }), jwt({ exp: -1 }), 'a.!!!.c', 'a.b.c.d.e', jwt(null)]) {
      expect(subjectTokenExpiresAt(t)).toBeUndefined();
    }
  });

  it('cap: the earlier of the token expiry and the subject exp', () => {
    const subject = jwt({ exp: 1_000 });
    expect(capBySubjectToken(5_000_000, subject)).toBe(1_000_000);
    expect(capBySubjectToken(500_000, subject)).toBe(500_000);
    expect(capBySubjectToken(5_000_000, 'opaque')).toBe(5_000_000);
    expect(capBySubjectToken(5_000_000, undefined)).toBe(5_000_000);
  });
});
