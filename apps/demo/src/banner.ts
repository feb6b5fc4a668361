/** What `npm start` prints: where everything is, and commands to try that work as printed. */
import { DEMO_USERS } from './demo.config.js';
import type { Demo } from './demo.js';

export function startBanner(demo: Demo): string {
  const started = demo.idp ? '' : ' (reused, DEMO_IDP_URL / DEMO_API_URL)';
  const [user, password] = Object.entries(DEMO_USERS)[0]!;
  // The user signs in at the IdP (their token comes back as plain text), then calls the demo with it.
  const signIn = `curl -s -u ${user}:${password} -X POST ${demo.idpUrl}/demo/user-token`;
  return [
    '',
    '  nestjs-token-cache demo',
    '',
    `  Dashboard          ${demo.url}/`,
    `  Scenarios          ${demo.url}/scenarios`,
    `  Health             ${demo.url}/health`,
    `  Admin status       ${demo.url}/token-cache/status   (header x-admin-key: ${demo.adminKey})`,
    `  Identity provider  ${demo.idpUrl}/.well-known/openid-configuration${started}`,
    `  Resource API       ${demo.apiUrl}${started}`,
    `  Token files        ${demo.tokenDir}`,
    `  Token store        ${demo.options.redisUrl ? `Redis ${new URL(demo.options.redisUrl).host}` : 'memory'}`,
    `  Token lifetime     ${demo.options.ttlSeconds} s`,
    `  Background calls   ${demo.options.backgroundCallMs > 0 ? `every ${demo.options.backgroundCallMs / 1000} s (DEMO_BACKGROUND_CALL_MS=0 turns them off)` : 'off'}`,
    '',
    `  Try: curl ${demo.url}/trading/alice-scalper/accounts`,
    `  Try on-behalf-of: curl -s -H "Authorization: Bearer $(${signIn})" ${demo.url}/me/orders`,
    `    (${user} signs in, then the demo exchanges ${user}'s token for an orders-api one: RFC 8693; users ${Object.keys(DEMO_USERS).join(', ')})`,
    '  Ctrl+C stops everything.',
    '',
  ].join('\n');
}
