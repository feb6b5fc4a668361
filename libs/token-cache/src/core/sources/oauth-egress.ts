/**
 * How token requests leave the process: the shared OAuth client's transport.
 *
 * Without a proxy variable set, requests go straight to the endpoint over `node:http(s)` (direct-http.ts: a
 * tenth of undici's CPU per request in a young process), with the `tls` options. With one, undici 7's own
 * `fetch` with an `EnvHttpProxyAgent` (so `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`, either case, are honoured
 * as axios honours them for API calls) whose connections carry the `tls` options
 * (client certificate for RFC 8705 mTLS, extra CAs). undici's own `fetch` rather than Node's global one: the
 * dispatcher and the fetch then come from the same undici version. A `fetch` option replaces all of it.
 */
import { X509Certificate } from 'node:crypto';
import { EnvHttpProxyAgent, fetch as undiciFetch } from 'undici';
import { createSecureContext, type ConnectionOptions } from 'node:tls';
import { TokenCacheConfigError } from '../token-cache.errors.js';
import { messages } from '../token-cache.messages.js';
import { assertKnownOptions, describeValue } from '../validate.js';
import { createDirectHttp, type DirectHttp } from './direct-http.js';
import { TLS_OPTION_NAMES } from './source-options.js';

/**
 * TLS material for the token endpoint connection (PEM strings or Buffers, as Node's `tls.connect` takes them).
 * `cert` + `key`: the client certificate for `tls_client_auth` / `self_signed_tls_client_auth` (RFC 8705).
 * `ca`: certificate authorities trusted for the token endpoint (in addition to Node's), with any `authMethod`.
 */
export interface OAuthTlsOptions {
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Passphrase of an encrypted `key`. */
  passphrase?: string;
  ca?: string | Buffer | (string | Buffer)[];
}

/** The `fetch` signature the transport takes and gives: the global `fetch`'s. */
export type OAuthFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** What the shared client sends with: one per source, closed with it. */
export interface OAuthTransport {
  fetch(url: string, init: RequestInit): Promise<Response>;
  /** True when the user's `fetch` replaces the transport (then `tls` is the user's business). */
  readonly custom: boolean;
  /** Whether a client certificate is configured. */
  readonly hasClientCertificate: boolean;
  /** The private key and its passphrase: redacted from every message. */
  secrets(): string[];
  close(): Promise<void>;
}

/** Validates `tls` and `fetch` at once (TokenCacheConfigError naming `<factory>.tls.cert`…); connects lazily. */
export function createOAuthTransport(factory: string, tls: unknown, customFetch: unknown): OAuthTransport {
  const tlsOptions = validateTls(`${factory}.tls`, tls);
  if (customFetch !== undefined && typeof customFetch !== 'function') {
    throw new TokenCacheConfigError(`${factory}.fetch`, messages.config(`${factory}.fetch`, `expected a function with the signature of fetch, got ${describeValue(customFetch)}`));
  }
  const secrets: string[] = [];
  if (tlsOptions?.key !== undefined) secrets.push(String(tlsOptions.key).trim());
  if (tlsOptions?.passphrase !== undefined) secrets.push(tlsOptions.passphrase);
  const hasClientCertificate = tlsOptions?.cert !== undefined && tlsOptions.key !== undefined;

  if (customFetch !== undefined) {
    const userFetch = customFetch as OAuthFetch;
    return {
      custom: true,
      hasClientCertificate,
      fetch: (url, init) => userFetch(url, init),
      secrets: () => [...secrets],
      close: async () => undefined,
    };
  }

  let dispatcher: EnvHttpProxyAgent | undefined;
  let direct: DirectHttp | undefined;
  return {
    custom: false,
    hasClientCertificate,
    fetch(url, init) {
      // No proxy configured: straight to the endpoint over node:http(s), far cheaper per request (direct-http.ts).
      if (!proxyConfigured()) {
        const sent = (direct ??= createDirectHttp(tlsOptions as ConnectionOptions | undefined)).fetch(url, init);
        if (sent !== undefined) return sent;
      }
      // Created on the first request, so proxy variables set after the source was defined still count.
      dispatcher ??= new EnvHttpProxyAgent(
        tlsOptions === undefined
          ? {}
          : // `connect` for direct connections; `requestTls` for the TLS session tunnelled through a proxy.
            { connect: tlsOptions as ConnectionOptions, requestTls: tlsOptions as ConnectionOptions },
      );
      return undiciFetch(url, { ...(init as object), dispatcher } as Parameters<typeof undiciFetch>[1]) as unknown as Promise<Response>;
    },
    secrets: () => [...secrets],
    async close() {
      direct?.close();
      direct = undefined;
      const d = dispatcher;
      dispatcher = undefined;
      await d?.close().catch(() => undefined);
    },
  };
}

/**
 * A proxy's refusal to open the tunnel (undici: `Proxy response (403) !== 200 when HTTP Tunneling`) somewhere
 * in `error`'s cause chain: the proxy's status, and which proxy (scheme, host and port from the variable
 * that applies to `url`, never its credentials).
 */
export function proxyRefusal(error: unknown, url: string): { status: number; proxy: string } | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 6 && e !== null && typeof e === 'object'; depth++) {
    const match = /Proxy response \((\d{3})\) !== 200/.exec(String((e as { message?: unknown }).message ?? ''));
    if (match !== null) return { status: Number(match[1]), proxy: proxyFor(url) };
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** `HTTPS_PROXY (http://proxy.corp:3128)`: the variable that applies to `url` (lower case wins, as in undici) and its origin, no credentials. */
function proxyFor(url: string): string {
  const env = process.env;
  const https = url.startsWith('https:');
  const candidates: [string, string | undefined][] = https
    ? [['https_proxy', env.https_proxy], ['HTTPS_PROXY', env.HTTPS_PROXY], ['http_proxy', env.http_proxy], ['HTTP_PROXY', env.HTTP_PROXY]]
    : [['http_proxy', env.http_proxy], ['HTTP_PROXY', env.HTTP_PROXY]];
  const [name, value] = candidates.find(([, v]) => v) ?? ['the proxy', undefined];
  try {
    return value === undefined ? name : `${name} (${new URL(value).origin})`;
  } catch {
    return name;
  }
}

/** Whether a proxy variable is set (either case): then undici's EnvHttpProxyAgent decides, NO_PROXY included. */
function proxyConfigured(): boolean {
  const env = process.env;
  return Boolean(env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy);
}

function validateTls(option: string, value: unknown): OAuthTlsOptions | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TokenCacheConfigError(option, messages.config(option, `expected { cert?, key?, passphrase?, ca? }, got ${describeValue(value)}`));
  }
  const tls = value as Record<string, unknown>;
  const pem = (name: string, v: unknown) => {
    if (v === undefined) return;
    if ((typeof v !== 'string' || v.trim() === '') && !Buffer.isBuffer(v)) {
      throw new TokenCacheConfigError(`${option}.${name}`, messages.config(`${option}.${name}`, `expected a PEM string or a Buffer, got ${describeValue(v)}`));
    }
  };
  assertKnownOptions(tls, TLS_OPTION_NAMES, `${option}.`);
  pem('cert', tls.cert);
  pem('key', tls.key);
  if (tls.passphrase !== undefined && typeof tls.passphrase !== 'string') {
    throw new TokenCacheConfigError(`${option}.passphrase`, messages.config(`${option}.passphrase`, `expected a string, got ${describeValue(tls.passphrase)}`));
  }
  // Node takes a CA that holds no certificate without a word (and then trusts nothing of it): checked here.
  const ca = (name: string, v: unknown) => {
    pem(name, v);
    if (v === undefined) return;
    try {
      new X509Certificate(v as string | Buffer);
    } catch {
      throw new TokenCacheConfigError(`${option}.${name}`, messages.config(`${option}.${name}`, 'holds no certificate: expected a PEM certificate (-----BEGIN CERTIFICATE-----) or its DER bytes'));
    }
  };
  if (Array.isArray(tls.ca)) tls.ca.forEach((v, i) => ca(`ca[${i}]`, v));
  else ca('ca', tls.ca);
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    const missing = tls.cert === undefined ? 'cert' : 'key';
    throw new TokenCacheConfigError(`${option}.${missing}`, messages.config(`${option}.${missing}`, 'is required with the other half of the client certificate (cert and key go together)'));
  }
  try {
    // Loaded once now, so a key that does not match its certificate or a wrong passphrase fails at start.
    createSecureContext(tls as ConnectionOptions);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new TokenCacheConfigError(
      option,
      messages.config(option, `could not be loaded${typeof code === 'string' ? ` (${code})` : ''}: check that cert and key are PEM, belong together, and the passphrase`),
    );
  }
  return { ...(tls as OAuthTlsOptions) };
}
