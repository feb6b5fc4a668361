import { describe, expect, it } from 'vitest';
import { asksForDPoPNonce, parseChallenges } from './dpop-challenge.js';

describe('parseChallenges', () => {
  it('reads schemes and auth-params (quoted or not), several challenges in one value or an array', () => {
    expect(parseChallenges('DPoP algs="ES256 PS256", error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"')).toEqual([
      { scheme: 'dpop', params: { algs: 'ES256 PS256', error: 'use_dpop_nonce', error_description: 'Resource server requires nonce in DPoP proof' } },
    ]);
    expect(parseChallenges(['Bearer realm="a, b", error=invalid_token', 'DPoP error="use_dpop_nonce"'])).toEqual([
      { scheme: 'bearer', params: { realm: 'a, b', error: 'invalid_token' } },
      { scheme: 'dpop', params: { error: 'use_dpop_nonce' } },
    ]);
    expect(parseChallenges('Basic abc==, Bearer, DPoP x="a\\"b"')).toEqual([
      { scheme: 'basic', params: {} },
      { scheme: 'bearer', params: {} },
      { scheme: 'dpop', params: { x: 'a"b' } },
    ]);
    expect(parseChallenges(undefined)).toEqual([]);
    expect(parseChallenges('')).toEqual([]);
  });
});

describe('asksForDPoPNonce', () => {
  it.each([
    ['DPoP error="use_dpop_nonce"', true],
    ['dpop ERROR=use_dpop_nonce', true],
    ['Bearer realm="x", DPoP algs="ES256", error="use_dpop_nonce"', true],
    [['Bearer realm="x"', 'DPoP error="use_dpop_nonce"'], true],
    ['Bearer error="use_dpop_nonce"', false],
    ['DPoP error="invalid_token"', false],
    ['DPoP error_description="use_dpop_nonce"', false],
    ['DPoP realm="error=use_dpop_nonce"', false],
    [undefined, false],
    [null, false],
  ])('%j → %s', (header, expected) => {
    expect(asksForDPoPNonce(header)).toBe(expected);
  });
});
