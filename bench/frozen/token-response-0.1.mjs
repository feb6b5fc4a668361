// Frozen copy of 0.1's token reply parser (libs/token-cache/src/core/token-response.ts at b4183d3), the
// baseline of token-response.bench.mjs. Do not change: it is what "today's parser" means in the target.
class TokenResponseError extends Error {
  name = 'TokenResponseError';
  constructor(message, source) {
    super(message);
    this.source = source;
  }
}
const badResponse = (source, problem) => `The token response for source "${source}" is unusable: ${problem}. Nothing was cached.`;

function parseExpiresIn(value, source) {
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) {
    throw new TokenResponseError(
      badResponse(source, `"expires_in" must be a number of seconds >= 0, got ${typeof value === 'number' ? value : value === null ? 'null' : typeof value}`),
      source,
    );
  }
  return n;
}

export function parseOAuthTokenBody(body, source) {
  let json = body;
  if (typeof body === 'string') {
    try {
      json = JSON.parse(body);
    } catch {
      throw new TokenResponseError(badResponse(source, 'the reply is not JSON (HTML, truncated or empty?)'), source);
    }
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new TokenResponseError(badResponse(source, 'the reply is not a JSON object'), source);
  }
  const o = json;
  if (typeof o.access_token !== 'string' || o.access_token === '') {
    throw new TokenResponseError(badResponse(source, 'the reply has no "access_token"'), source);
  }
  return {
    accessToken: o.access_token,
    tokenType: typeof o.token_type === 'string' ? o.token_type : undefined,
    expiresIn: parseExpiresIn(o.expires_in, source),
    refreshToken: typeof o.refresh_token === 'string' ? o.refresh_token : undefined,
    scope: typeof o.scope === 'string' ? o.scope : undefined,
  };
}
