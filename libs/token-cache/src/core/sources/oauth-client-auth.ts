/**
 * Client authentication at the token endpoint (RFC 6749 §2.3, RFC 7523 §2.2, RFC 8705 §2): one oauth4webapi
 * `ClientAuth` per method, chosen once per source. `client_assertion` is ours: a ready-made assertion
 * (workload identity federation) from a string, a function or a file read afresh for every request.
 */
import { createPrivateKey, KeyObject, webcrypto } from 'node:crypto';
import {
  ClientSecretBasic,
  ClientSecretJwt,
  ClientSecretPost,
  None,
  PrivateKeyJwt,
  TlsClientAuth,
  type ClientAuth,
} from 'oauth4webapi';
import { TokenCacheConfigError } from '../token-cache.errors.js';
import { messages } from '../token-cache.messages.js';
import type { TokenRequest } from '../token-cache.types.js';
import { assertKnownOptions, describeValue } from '../validate.js';
import { PRIVATE_KEY_WITH_ID_NAMES } from './source-options.js';
import { readAssertion, staticSecret, validateAssertionInput, type AssertionInput } from './assertion-input.js';

/**
 * How the client authenticates at the token endpoint:
 * - `client_secret_basic` / `client_secret_post`: `clientSecret` (RFC 6749 §2.3.1);
 * - `client_secret_jwt`: an assertion signed (HS256) with `clientSecret` (RFC 7523 §2.2, OIDC Core §9), a fresh `jti` each time;
 * - `private_key_jwt`: an assertion signed with `privateKey` (RFC 7523 §2.2, a fresh `jti` each time);
 * - `client_assertion`: a ready-made assertion from `clientAssertion` (workload identity federation);
 * - `tls_client_auth` / `self_signed_tls_client_auth`: the `tls` client certificate (RFC 8705 §2);
 * - `none`: a public client (only `client_id` is sent).
 */
export type OAuthAuthMethod =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'client_secret_jwt'
  | 'private_key_jwt'
  | 'client_assertion'
  | 'tls_client_auth'
  | 'self_signed_tls_client_auth'
  | 'none';

export const ALL_AUTH_METHODS: readonly OAuthAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
  'client_assertion',
  'tls_client_auth',
  'self_signed_tls_client_auth',
  'none',
];

/** A private key for `private_key_jwt`: PKCS#8/PKCS#1/SEC1 PEM, a private JWK, a `KeyObject` or a WebCrypto `CryptoKey`. */
export type PrivateKeyMaterial = string | Buffer | KeyObject | webcrypto.CryptoKey | webcrypto.JsonWebKey;

/** A private key with the `kid` to put in the assertion header and, for RSA keys, the algorithm (default RS256). */
export interface PrivateKeyWithId {
  key: PrivateKeyMaterial;
  kid?: string;
  /** `RS256` (default for RSA), `RS384`, `RS512`, `PS256`, `PS384`, `PS512`; EC and Ed25519 keys imply theirs. */
  alg?: string;
}

/** RFC 7518 §3.2: an HMAC key of at least the hash's size (256 bits for HS256) MUST be used. */
const HS256_MIN_KEY_BYTES = 32;

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** The authentication of one source: its ClientAuth for a request, and the secrets it knows. */
export interface ClientAuthentication {
  readonly method: OAuthAuthMethod;
  /** Whether `client_id` is sent at all (a `jwtBearer` source without `clientId` sends none). */
  forRequest(request: TokenRequest): Promise<{ auth: ClientAuth; secrets: string[] }>;
  /** Long-lived secrets (client secret, private key, a string assertion): redacted from every message. */
  readonly secrets: string[];
}

export interface ClientAuthOptions {
  clientId?: string;
  clientSecret?: unknown;
  privateKey?: unknown;
  clientAssertion?: unknown;
}

/** Validates the options of `method` at once (TokenCacheConfigError naming the option) and builds its ClientAuth. */
export function createClientAuthentication(
  factory: string,
  method: OAuthAuthMethod,
  options: ClientAuthOptions,
  transport: { custom: boolean; hasClientCertificate: boolean },
): ClientAuthentication {
  const secrets: string[] = [];
  if (typeof options.clientSecret === 'string' && options.clientSecret !== '') secrets.push(options.clientSecret);
  const fixed = (auth: ClientAuth): ClientAuthentication => {
    const result = Promise.resolve({ auth, secrets: [] as string[] });
    return { method, secrets, forRequest: () => result };
  };
  switch (method) {
    case 'client_secret_basic':
    case 'client_secret_post':
    case 'client_secret_jwt': {
      if (typeof options.clientSecret !== 'string' || options.clientSecret === '') {
        throw new TokenCacheConfigError(
          `${factory}.clientSecret`,
          messages.config(`${factory}.clientSecret`, `expected a non-empty string for authMethod '${method}', got ${describeValue(options.clientSecret)}`),
        );
      }
      if (method === 'client_secret_jwt') {
        const bytes = Buffer.byteLength(options.clientSecret, 'utf8');
        if (bytes < HS256_MIN_KEY_BYTES) {
          throw new TokenCacheConfigError(
            `${factory}.clientSecret`,
            messages.config(
              `${factory}.clientSecret`,
              `authMethod 'client_secret_jwt' signs with HS256, which needs a key of at least ${HS256_MIN_KEY_BYTES} bytes (RFC 7518 §3.2); this secret has ${bytes}. Use a longer client secret, or another authMethod ('client_secret_basic', 'private_key_jwt')`,
            ),
          );
        }
        // A fresh assertion (new jti, iat, exp) for every request: oauth4webapi signs one per call.
        return { method, secrets, forRequest: async () => ({ auth: ClientSecretJwt(options.clientSecret as string), secrets: [] }) };
      }
      return fixed(method === 'client_secret_basic' ? ClientSecretBasic(options.clientSecret) : ClientSecretPost(options.clientSecret));
    }
    case 'private_key_jwt': {
      const key = loadPrivateKey(`${factory}.privateKey`, options.privateKey);
      secrets.push(...key.secrets);
      let imported: Promise<{ auth: ClientAuth; secrets: string[] }> | undefined;
      // Importing into WebCrypto is async: done once, on the first fetch.
      const forRequest = () =>
        (imported ??= webcrypto.subtle.importKey('pkcs8', key.pkcs8, key.algorithm, false, ['sign']).then((cryptoKey) => ({
          auth: PrivateKeyJwt({ key: cryptoKey as unknown as Extract<Parameters<typeof PrivateKeyJwt>[0], { algorithm: unknown }>, kid: key.kid }),
          secrets: [],
        })));
      return { method, secrets, forRequest };
    }
    case 'client_assertion': {
      const input: AssertionInput = validateAssertionInput(
        `${factory}.clientAssertion`,
        options.clientAssertion,
        "required for authMethod 'client_assertion'",
      );
      secrets.push(...staticSecret(input));
      const clientId = options.clientId;
      return {
        method,
        secrets,
        async forRequest(request) {
          const assertion = await readAssertion(`${factory}.clientAssertion`, input, request);
          const auth: ClientAuth = (_as, _client, body) => {
            if (clientId !== undefined) body.set('client_id', clientId);
            body.set('client_assertion_type', CLIENT_ASSERTION_TYPE);
            body.set('client_assertion', assertion);
          };
          return { auth, secrets: [assertion] };
        },
      };
    }
    case 'tls_client_auth':
    case 'self_signed_tls_client_auth': {
      if (!transport.hasClientCertificate && !transport.custom) {
        throw new TokenCacheConfigError(
          `${factory}.tls`,
          messages.config(
            `${factory}.tls`,
            `authMethod '${method}' needs the client certificate: set tls: { cert, key } (PEM), or a fetch of your own that presents one`,
          ),
        );
      }
      return fixed(TlsClientAuth());
    }
    case 'none':
      // A jwtBearer source without clientId authenticates by its assertion alone: no client_id is sent.
      return fixed(options.clientId === undefined ? () => undefined : None());
  }
}

interface LoadedKey {
  pkcs8: Buffer;
  /** The key's text as given (a PEM, a JWK's private parts): redacted like a client secret. */
  secrets: string[];
  algorithm: webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | webcrypto.Algorithm;
  kid?: string;
}

const RSA_ALGS: Record<string, webcrypto.RsaHashedImportParams> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  RS384: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384' },
  RS512: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-512' },
  PS256: { name: 'RSA-PSS', hash: 'SHA-256' },
  PS384: { name: 'RSA-PSS', hash: 'SHA-384' },
  PS512: { name: 'RSA-PSS', hash: 'SHA-512' },
};
const EC_CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/** Reads a private key at once, so a bad key is a TokenCacheConfigError at startup, not a failed fetch. */
export function loadPrivateKey(option: string, input: unknown): LoadedKey {
  const fail = (problem: string): never => {
    throw new TokenCacheConfigError(option, messages.config(option, problem));
  };
  if (input === undefined || input === null) return fail("required for authMethod 'private_key_jwt' (a PEM string, a private JWK, a KeyObject or a CryptoKey)");
  let material: unknown = input;
  let kid: string | undefined;
  let alg: string | undefined;
  if (typeof input === 'object' && !(input instanceof KeyObject) && !Buffer.isBuffer(input) && 'key' in input && !isCryptoKey(input)) {
    assertKnownOptions(input, PRIVATE_KEY_WITH_ID_NAMES, `${option}.`);
    ({ key: material, kid, alg } = input as PrivateKeyWithId);
  }
  const secrets: string[] = [];
  if (typeof material === 'string') secrets.push(material.trim());
  if (material !== null && typeof material === 'object' && !(material instanceof KeyObject) && !Buffer.isBuffer(material) && !isCryptoKey(material)) {
    for (const part of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const) {
      const v = (material as Record<string, unknown>)[part];
      if (typeof v === 'string') secrets.push(v);
    }
  }
  let keyObject: KeyObject;
  try {
    if (material instanceof KeyObject) keyObject = material;
    else if (isCryptoKey(material)) keyObject = KeyObject.from(material);
    else if (typeof material === 'string' || Buffer.isBuffer(material)) keyObject = createPrivateKey(material);
    else if (material !== null && typeof material === 'object') {
      const jwk = material as webcrypto.JsonWebKey & { kid?: string; alg?: string };
      kid ??= jwk.kid;
      alg ??= jwk.alg;
      keyObject = createPrivateKey({ key: jwk as never, format: 'jwk' });
    } else return fail(`expected a PEM string, a private JWK, a KeyObject or a CryptoKey, got ${describeValue(material)}`);
  } catch {
    return fail('could not be read as a private key (PEM, JWK, KeyObject or CryptoKey)');
  }
  if (keyObject.type !== 'private') return fail('is not a private key');
  const pkcs8 = keyObject.export({ format: 'der', type: 'pkcs8' });
  switch (keyObject.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss': {
      const algorithm = RSA_ALGS[alg ?? (keyObject.asymmetricKeyType === 'rsa-pss' ? 'PS256' : 'RS256')];
      if (algorithm === undefined) return fail(`"alg" ${alg} does not fit an RSA key (use RS256/384/512 or PS256/384/512)`);
      return { pkcs8, secrets, algorithm, kid };
    }
    case 'ec': {
      const namedCurve = EC_CURVES[keyObject.asymmetricKeyDetails?.namedCurve ?? ''];
      if (namedCurve === undefined) return fail('uses an EC curve other than P-256, P-384 or P-521');
      return { pkcs8, secrets, algorithm: { name: 'ECDSA', namedCurve }, kid };
    }
    case 'ed25519':
      return { pkcs8, secrets, algorithm: { name: 'Ed25519' }, kid };
    default:
      return fail(`has an unsupported key type "${keyObject.asymmetricKeyType}" (use RSA, EC P-256/384/521 or Ed25519)`);
  }
}

/** `CryptoKey` is a global from Node 20 on (not on `webcrypto` there). */
function isCryptoKey(value: unknown): value is webcrypto.CryptoKey {
  const CryptoKeyClass = (globalThis as { CryptoKey?: abstract new () => unknown }).CryptoKey;
  return CryptoKeyClass !== undefined && value instanceof CryptoKeyClass;
}
