/** Messages of the DPoP module. They name options and algorithms, never key material. */
export const dpopMessages = {
  expectedOption: () =>
    'expected true (a new ES256 key pair per source) or { privateKey, publicKey?, alg? } with a PEM string, a private JWK, a KeyObject or a CryptoKey',
  unreadable: (what: string) => `could not be read as a ${what} (PEM string, JWK, KeyObject or CryptoKey)`,
  notPrivate: () => 'is not a private key (give the private half of the key pair)',
  notPublic: () => 'is not a public key',
  mismatch: () => 'does not belong to "privateKey" (its JWK thumbprint differs)',
  badAlg: (alg: string, allowed: string[]) => `"${alg}" does not fit this key: use ${allowed.join(', ')}`,
  unsupportedKey: (type: string) => `has an unsupported key type "${type}": DPoP needs an EC (P-256, P-384, P-521), RSA (2048 bits or more) or Ed25519 key`,
  rsaTooSmall: (bits: number) => `is an RSA key of ${bits} bits: DPoP proofs need at least 2048`,
  rsaPssOnly: () => "is an RSA-PSS-only key: give a plain RSA key (PKCS#8 'rsaEncryption') with alg 'PS256'",
  cryptoKeyUsage: () => 'is a CryptoKey without the "sign" usage',
} as const;
