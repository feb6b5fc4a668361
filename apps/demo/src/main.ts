/** `npm start`: the whole demo on loopback, until Ctrl+C. */
import 'reflect-metadata';
import { startBanner } from './banner.js';
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
console.log(startBanner(demo));

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
