/**
 * Where the token endpoint is: `tokenUrl` as given, or found from `issuer` by discovery (OpenID Connect
 * Discovery 1.0, then RFC 8414), done by oauth4webapi on the first token request, never at bootstrap, and
 * kept. A failed discovery is a TokenFetchError (the cache backs off as for any failed fetch) and is tried
 * again on the next fetch.
 */
import { escapeControls } from '../redact.js';
import {
  allowInsecureRequests,
  customFetch,
  discoveryRequest,
  processDiscoveryResponse,
  type AuthorizationServer,
} from 'oauth4webapi';
import { TokenCacheError, TokenFetchError } from '../token-cache.errors.js';
import { sourceMessages } from './token-sources.messages.js';

/** Reads a reply body within the client's `maxResponseBytes`. */
export type BodyReader = (response: Response) => Promise<string>;

export interface EndpointResolverOptions {
  issuer?: string;
  tokenUrl?: string;
  /** http issuers (loopback only) and http endpoints are allowed. */
  insecure: boolean;
  fetch: (url: string, init: RequestInit) => Promise<Response>;
  readBody: BodyReader;
}

/** The authorization server metadata of one source: fixed from `tokenUrl`, or discovered once from `issuer`. */
export class EndpointResolver {
  private readonly fixed?: AuthorizationServer;
  private discovered?: Promise<AuthorizationServer>;

  constructor(private readonly options: EndpointResolverOptions) {
    if (options.tokenUrl !== undefined) {
      // `issuer` with `tokenUrl`: no discovery; the issuer is the `aud` of private_key_jwt assertions.
      this.fixed = { issuer: options.issuer ?? options.tokenUrl, token_endpoint: options.tokenUrl };
    }
  }

  /** The metadata, discovering it on first use; concurrent first uses share one discovery. */
  resolve(source: string, signal: AbortSignal): Promise<AuthorizationServer> {
    if (this.fixed !== undefined) return Promise.resolve(this.fixed);
    if (this.discovered === undefined) {
      const attempt = this.discover(source, signal);
      this.discovered = attempt;
      // A failure is not kept: the next fetch (after the cache's backoff) discovers again.
      attempt.catch(() => {
        if (this.discovered === attempt) this.discovered = undefined;
      });
    }
    return this.discovered;
  }

  private async discover(source: string, signal: AbortSignal): Promise<AuthorizationServer> {
    const issuer = this.options.issuer!;
    const expected = new URL(issuer);
    const tried: string[] = [];
    let lastStatus: number | undefined;
    for (const algorithm of ['oidc', 'oauth2'] as const) {
      let url = '';
      let response: Response;
      try {
        response = await discoveryRequest(expected, {
          algorithm,
          signal,
          [allowInsecureRequests]: this.options.insecure,
          [customFetch]: (u: string, init: RequestInit) => {
            url = u;
            return this.options.fetch(u, init);
          },
        });
      } catch (error) {
        throw this.failure(source, issuer, networkDetail(error), { retryable: true, cause: error, signal });
      }
      if (response.status !== 200) {
        await response.body?.cancel().catch(() => undefined);
        tried.push(`${url}: HTTP ${response.status}`);
        lastStatus = response.status;
        // A server error says nothing about the other document: try it, and retry later if both fail.
        continue;
      }
      let text: string;
      try {
        text = await this.options.readBody(response);
      } catch (error) {
        throw this.failure(source, issuer, networkDetail(error), { retryable: true, signal });
      }
      let found: unknown;
      try {
        found = (JSON.parse(text) as { issuer?: unknown }).issuer;
      } catch {
        found = undefined;
      }
      if (typeof found !== 'string' || URL.canParse?.(found) === false) {
        tried.push(`${url}: not a metadata document`);
        continue;
      }
      // Users type issuers with and without a trailing slash: forgiven, any other difference is not.
      if (stripSlash(found) !== stripSlash(expected.href)) {
        throw this.failure(source, issuer, sourceMessages.discoveryIssuerMismatch(escapeControls(found.slice(0, 300))), { retryable: false, signal });
      }
      let metadata: AuthorizationServer;
      try {
        metadata = await processDiscoveryResponse(new URL(found), new Response(text, { status: 200, headers: response.headers }));
      } catch {
        tried.push(`${url}: not a metadata document`);
        continue;
      }
      if (typeof metadata.token_endpoint !== 'string' || metadata.token_endpoint === '') {
        throw this.failure(source, issuer, sourceMessages.discoveryNoTokenEndpoint(), { retryable: false, signal });
      }
      return metadata;
    }
    const retryable = lastStatus !== undefined && (lastStatus >= 500 || lastStatus === 429 || lastStatus === 408);
    throw this.failure(source, issuer, sourceMessages.noDiscoveryDocument(tried), { retryable, status: lastStatus, signal });
  }

  private failure(
    source: string,
    issuer: string,
    detail: string,
    options: { retryable: boolean; status?: number; cause?: unknown; signal: AbortSignal },
  ): TokenCacheError {
    if (options.signal.aborted && options.signal.reason instanceof TokenCacheError) return options.signal.reason;
    return new TokenFetchError(sourceMessages.discoveryFailed(source, issuer, detail), {
      source,
      retryable: options.retryable,
      status: options.status,
      cause: options.cause,
    });
  }
}

function stripSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}

function networkDetail(error: unknown): string {
  const e = error as { message?: string; cause?: { code?: string; message?: string } };
  return `the issuer could not be reached (${e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(error)})`;
}
