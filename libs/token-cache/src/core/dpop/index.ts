// DPoP (RFC 9449): keys, proofs, nonces, challenges. Internal barrel; core/index.ts re-exports the public part.
export { DPoPKey, htuOf, jwkThumbprint, resolveDPoPOption, type DPoPKeyMaterial, type DPoPKeyOptions, type DPoPOption, type DPoPProofInput, type ResolvedDPoP } from './dpop-key.js';
export { DPoPNonces } from './dpop-nonces.js';
export { asksForDPoPNonce, parseChallenges, type AuthChallenge } from './dpop-challenge.js';
export { asksForTokenEndpointNonce, TokenEndpointDPoP } from './dpop-token-endpoint.js';
