/**
 * Reads an HTTP reply body (a WHATWG `Response`, as `fetch` and openid-client's `customFetch` hand it) with
 * a byte limit: a larger body is abandoned as soon as the limit is passed (the stream is cancelled, which
 * makes undici close the connection), so a 50 MB or never-ending reply costs at most `maxBytes` of memory.
 */

/** Default of the OAuth sources' `maxResponseBytes`: 1 MiB, far above any real token reply (a few KB). */
export const DEFAULT_MAX_RESPONSE_BYTES = 1_048_576;

/** The body was larger than the limit; what was read is dropped. `declared` when `Content-Length` said so up front. */
export class ReplyTooLargeError extends Error {
  override readonly name = 'ReplyTooLargeError';
  constructor(
    readonly maxBytes: number,
    readonly declared: boolean,
  ) {
    super(`the reply is larger than ${maxBytes} bytes`);
  }
}

/**
 * The body of `response` as UTF-8 text, reading at most `maxBytes` bytes. Rejects with ReplyTooLargeError
 * (after cancelling the body, so the connection is closed) when the body, or its `Content-Length`, is larger;
 * with the stream's own error when the connection breaks mid-body or the request's signal aborts it.
 */
export async function readBoundedText(response: Response, maxBytes: number): Promise<string> {
  const declared = response.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > maxBytes) {
    await cancelQuietly(response.body);
    throw new ReplyTooLargeError(maxBytes, true);
  }
  const body = response.body;
  if (body === null) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      chunks.length = 0;
      await reader.cancel().catch(() => undefined);
      throw new ReplyTooLargeError(maxBytes, false);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return utf8.decode(chunks[0]);
  return utf8.decode(Buffer.concat(chunks, total));
}

const utf8 = new TextDecoder('utf-8');

async function cancelQuietly(body: ReadableStream<Uint8Array> | null): Promise<void> {
  await body?.cancel().catch(() => undefined);
}
