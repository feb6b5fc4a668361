import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(`./libs/token-cache/src/${p}`, import.meta.url));
const packageAliases = [
  { find: /^nestjs-token-cache\/core$/, replacement: src('core/index.ts') },
  { find: /^nestjs-token-cache\/health$/, replacement: src('health/index.ts') },
  { find: /^nestjs-token-cache\/redis$/, replacement: src('redis/index.ts') },
  { find: /^nestjs-token-cache\/testing$/, replacement: src('testing/index.ts') },
  { find: /^nestjs-token-cache$/, replacement: src('index.ts') },
];
/** The lowest axios of the peer range (`axios-lowest` = npm:axios@1.7.0): the HTTP client specs run against it too. */
const LOWEST_AXIOS = '1.7.0';
const axiosSpecs = ['test/axios-*.e2e-spec.ts', 'test/token-fetch*.e2e-spec.ts'];

// Nest resolves constructor parameters from decorator metadata; oxc emits it with legacy decorators.
const oxc = { decorator: { legacy: true, emitDecoratorMetadata: true } } as never;
const common = { testTimeout: 20_000, hookTimeout: 30_000, pool: 'forks' } as const;

export default defineConfig({
  oxc,
  resolve: {
    // Tests import the package by name, as users do; they run against the TypeScript sources.
    alias: packageAliases,
  },
  test: {
    setupFiles: ['reflect-metadata', 'test/support/known-warnings.ts'],
    // Starts the suite's own Redis on a free port (or explains, once at the end, why Redis tests were skipped).
    globalSetup: ['test/support/global-redis.ts'],
    ...common,
    projects: [
      {
        extends: true,
        test: {
          name: 'default',
          include: ['libs/**/*.spec.ts', 'apps/**/*.spec.ts', 'test/**/*.e2e-spec.ts'],
          // The consumer apps' own tests run inside those apps (test/consumer-apps.e2e-spec.ts), not here.
          exclude: ['**/node_modules/**', 'test/consumer-apps/**'],
        },
      },
      {
        // The same specs with every `import 'axios'` (the tests', the library's, @nestjs/axios') resolved
        // to the lowest axios of the peer range. Not `extends`: the root's globalSetup (a Redis) is not needed.
        oxc,
        resolve: {
          alias: [...packageAliases, { find: /^axios$/, replacement: fileURLToPath(new URL('./node_modules/axios-lowest/index.js', import.meta.url)) }],
        },
        test: {
          name: `axios-${LOWEST_AXIOS}`,
          include: axiosSpecs,
          setupFiles: ['reflect-metadata', 'test/support/known-warnings.ts'],
          ...common,
          env: { TOKEN_CACHE_EXPECT_AXIOS: LOWEST_AXIOS },
          server: { deps: { inline: ['@nestjs/axios'] } },
        },
      },
    ],
  },
});
