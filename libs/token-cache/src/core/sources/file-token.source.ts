import { createHash } from 'node:crypto';
import { assertNoSubjectToken } from './subject-token-unused.js';
import { watch as watchDirectory, unwatchFile, watchFile, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { TokenCacheConfigError, TokenFetchError, TokenResponseError } from '../token-cache.errors.js';
import { messages } from '../token-cache.messages.js';
import type { TokenResponse } from '../token-cache.types.js';
import { parseExpiresIn } from '../token-response.js';
import { assertLifetimeMs, assertNonEmptyString, assertOptionsObject, assertPositiveInt, describeValue } from '../validate.js';
import { FILE_TOKEN_OPTION_NAMES } from './source-options.js';
import type { TokenSource } from './token-source.interface.js';
import { abortedError } from './oauth-grant.js';
import { sourceMessages } from './token-sources.messages.js';

export interface FileTokenOptions {
  /** The token file, e.g. `/var/run/secrets/tokens/api-token` or `/vault/secrets/token.json`. */
  path: string;
  /** `'raw'` (default): the whole file, trimmed, is the token. `'json'`: a JSON object holding it. */
  format?: 'raw' | 'json';
  /**
   * For `format: 'json'`: the field holding the token, default `access_token`; a dotted path (`data.token`)
   * reaches into nested objects. `expires_in` (s), `expires_at`/`expiry` (epoch s/ms or an ISO date) and
   * `token_type` next to it are honoured.
   */
  field?: string;
  /** Lifetime of a token with no expiry information (not a JWT with `exp`, no expiry field), in ms, at least 1_000. Default the cache's. */
  defaultTtlMs?: number;
  /** How long file events settle before the file is re-read, in ms. Default 50. */
  debounceMs?: number;
  /** Polling interval when the directory can't be watched (it does not exist yet), in ms. Default 1000. */
  pollIntervalMs?: number;
}

const DEFAULT_DEBOUNCE_MS = 50;
const DEFAULT_POLL_INTERVAL_MS = 1_000;

/**
 * A token a sidecar writes to a file (Vault agent, a Kubernetes projected service-account token, a JSON
 * token file). The directory is watched, not the file, so atomic rename-writes and Kubernetes' symlink
 * swaps are seen; when the file's content changes, the cache replaces its entries at once.
 */
export function fileToken(options: FileTokenOptions): TokenSource {
  if (options === null || typeof options !== 'object') {
    throw new TokenCacheConfigError('fileToken', messages.config('fileToken', `expected an options object, got ${describeValue(options)}`));
  }
  assertOptionsObject('fileToken', options, FILE_TOKEN_OPTION_NAMES);
  assertNonEmptyString('fileToken.path', options.path);
  const format = options.format ?? 'raw';
  if (format !== 'raw' && format !== 'json') {
    throw new TokenCacheConfigError('fileToken.format', messages.config('fileToken.format', `expected 'raw' or 'json', got ${describeValue(format)}`));
  }
  if (options.field !== undefined) {
    assertNonEmptyString('fileToken.field', options.field);
    if (format !== 'json') {
      throw new TokenCacheConfigError('fileToken.field', messages.config('fileToken.field', "only applies to format 'json'"));
    }
  }
  assertLifetimeMs('fileToken.defaultTtlMs', options.defaultTtlMs);
  assertPositiveInt('fileToken.debounceMs', options.debounceMs);
  assertPositiveInt('fileToken.pollIntervalMs', options.pollIntervalMs);
  const path = resolve(options.path);
  const field = options.field ?? 'access_token';
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const stops = new Set<() => void>();
  /** The last token read, to redact it from messages should a file turn up in one. */
  let lastToken: string | undefined;

  const read = async (source: string, signal?: AbortSignal): Promise<string> => {
    try {
      return await readFile(path, { encoding: 'utf8', signal });
    } catch (error) {
      const code = (error as { code?: string }).code ?? (error as Error).name;
      if (signal?.aborted) throw abortedError(source, signal);
      if (code === 'ENOENT') throw new TokenFetchError(sourceMessages.fileMissing(source, path), { source, retryable: true });
      // EACCES, EISDIR… won't fix themselves soon, but a sidecar may still be setting permissions up.
      throw new TokenFetchError(sourceMessages.fileUnreadable(source, path, code), { source, retryable: true });
    }
  };

  return {
    kind: 'file',
    defaultTtlMs: options.defaultTtlMs,
    async fetchToken(request, { signal }) {
      assertNoSubjectToken(request, 'file');
      const text = await read(request.source, signal);
      if (text.trim() === '') throw new TokenFetchError(sourceMessages.fileEmpty(request.source, path), { source: request.source, retryable: true });
      const token = format === 'raw' ? { accessToken: text.trim() } : parseJsonTokenFile(text, path, field, request.source);
      lastToken = token.accessToken;
      return token;
    },
    watch(onChange) {
      const stop = watchForChanges(path, debounceMs, pollIntervalMs, onChange);
      stops.add(stop);
      return () => {
        stops.delete(stop);
        stop();
      };
    },
    secrets: () => (lastToken === undefined ? [] : [lastToken]),
    close() {
      for (const stop of stops) stop();
      stops.clear();
    },
  };
}

/** The token of a JSON token file, with its expiry where the file has one. */
function parseJsonTokenFile(text: string, path: string, field: string, source: string): TokenResponse {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new TokenResponseError(messages.badResponse(source, sourceMessages.fileNotJson(path)), source);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new TokenResponseError(messages.badResponse(source, sourceMessages.fileNotJson(path)), source);
  }
  const { value: accessToken, holder } = lookup(json as Record<string, unknown>, field);
  if (typeof accessToken !== 'string' || accessToken.trim() === '') {
    throw new TokenResponseError(messages.badResponse(source, sourceMessages.fileNoField(path, field)), source);
  }
  const o = holder;
  const token: TokenResponse = { accessToken: accessToken.trim() };
  if (typeof o.token_type === 'string' && o.token_type !== '') token.tokenType = o.token_type;
  const expiresIn = parseExpiresIn(o.expires_in ?? o.expiresIn, source);
  if (expiresIn !== undefined) token.expiresIn = expiresIn;
  for (const name of ['expires_at', 'expiresAt', 'expiry']) {
    if (o[name] === undefined || o[name] === null) continue;
    const expiresAt = parseExpiresAt(o[name], path, name, source);
    if (expiresAt !== undefined) token.expiresAt = expiresAt;
    break;
  }
  return token;
}

/** `field` as a key, else as a dotted path; also returns the object holding it, where expiry fields sit. */
function lookup(json: Record<string, unknown>, field: string): { value: unknown; holder: Record<string, unknown> } {
  if (field in json) return { value: json[field], holder: json };
  let holder: Record<string, unknown> = json;
  const parts = field.split('.');
  for (const [i, part] of parts.entries()) {
    const value = holder[part];
    if (i === parts.length - 1) return { value, holder };
    if (value === null || typeof value !== 'object') return { value: undefined, holder };
    holder = value as Record<string, unknown>;
  }
  return { value: undefined, holder };
}

/**
 * Epoch seconds, epoch ms (told apart by the cache) or a date string such as RFC 3339. A date-time without an
 * offset is read as UTC (not the host's time zone: the file may come from anywhere). A date at or before
 * 1970-01-01 is no expiry: Go's zero `time.Time` (`"0001-01-01T00:00:00Z"`) is how `oauth2.Token` says
 * "does not expire". Undefined for no expiry.
 */
function parseExpiresAt(value: unknown, path: string, name: string, source: string): number | Date | undefined {
  // Epoch 0 (as a number, a decimal string or a date) is "no expiry" in every spelling.
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value > 0 ? value : undefined;
  if (typeof value === 'string') {
    const text = value.trim();
    if (/^\d+(\.\d+)?$/.test(text)) {
      const epoch = Number(text);
      return epoch > 0 ? epoch : undefined;
    }
    const at = Date.parse(/[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text) ? `${text}Z` : text);
    if (!Number.isNaN(at)) return at <= 0 ? undefined : new Date(at);
  }
  throw new TokenResponseError(messages.badResponse(source, sourceMessages.fileBadExpiry(path, name)), source);
}

/**
 * Calls `onChange` (debounced) when the file's content changes. Watches the directory, because a
 * rename-write replaces the file's inode and a watch on the file itself would go deaf; compares a hash
 * of the content so that unrelated files in the directory cause no refetch. Falls back to polling the
 * file when the directory can't be watched.
 */
function watchForChanges(path: string, debounceMs: number, pollIntervalMs: number, onChange: () => void): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  let polling = false;
  let fingerprint: Promise<string> = fingerprintOf(path);

  const check = () => {
    timer = undefined;
    const previous = fingerprint;
    const next = fingerprintOf(path);
    fingerprint = next;
    void Promise.all([previous, next]).then(([before, after]) => {
      if (!stopped && before !== after) onChange();
    });
  };
  const schedule = () => {
    if (stopped) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(check, debounceMs).unref();
  };
  const poll = () => {
    if (polling || stopped) return;
    polling = true;
    watchFile(path, { interval: pollIntervalMs, persistent: false }, schedule);
  };

  try {
    // Any event in the directory may be ours (Kubernetes swaps a `..data` symlink, not the file): the hash decides.
    watcher = watchDirectory(dirname(path), { persistent: false }, schedule);
    watcher.on('error', () => {
      watcher?.close();
      watcher = undefined;
      poll();
    });
  } catch {
    poll();
  }

  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    watcher?.close();
    if (polling) unwatchFile(path, schedule);
  };
}

/** A hash of the file's content ('missing' when it can't be read): cheap to compare, holds no token. */
async function fingerprintOf(path: string): Promise<string> {
  try {
    return createHash('sha256').update(await readFile(path)).digest('base64');
  } catch (error) {
    return `unreadable:${(error as { code?: string }).code ?? 'error'}`;
  }
}
