/** `npm start`: the whole demo on loopback, until Ctrl+C. */
import 'reflect-metadata';
import { demoOptionsFromEnv } from './demo.config.js';
import { createDemo } from './demo.js';

const fromEnv = demoOptionsFromEnv();
// Light steady traffic by default, so the dashboard's bars refresh ahead of expiry while you watch.
const demo = await createDemo({ ...fromEnv, backgroundCallMs: fromEnv.backgroundCallMs ?? 5_000 }).catch((error: Error & { code?: string; port?: number }) => {
  const hint =
    error.code === 'EADDRINUSE'
      ? `port ${error.port} is taken: choose others with PORT, DEMO_API_PORT, DEMO_IDP_PORT (0 picks free ones)`
      : error.message;
  console.error(`\n  The demo could not start: ${hint}\n`);
  process.exit(1);
});
const started = demo.idp ? '' : ' (reused, DEMO_IDP_URL / DEMO_API_URL)';
const lines = [
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
  '  Ctrl+C stops everything.',
  '',
];
console.log(lines.join('\n'));

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n  ${signal}: stopping the demo...`);
  // Whatever hangs past 10 s is not worth waiting for.
  setTimeout(() => {
    console.error('  shutdown took too long; exiting');
    process.exit(1);
  }, 10_000).unref();
  demo.close().then(
    () => {
      console.log('  stopped.');
      process.exitCode = 0;
    },
    (error: Error) => {
      console.error(`  shutdown failed: ${error.message}`);
      process.exitCode = 1;
    },
  );
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
