import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(`./libs/token-cache/src/${p}`, import.meta.url));

export default defineConfig({
  // Nest resolves constructor parameters from decorator metadata; oxc emits it with legacy decorators.
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } } as never,
  resolve: {
    // Tests import the package by name, as users do; they run against the TypeScript sources.
    alias: [
      { find: /^nestjs-token-cache\/core$/, replacement: src('core/index.ts') },
      { find: /^nestjs-token-cache\/health$/, replacement: src('health/index.ts') },
      { find: /^nestjs-token-cache\/redis$/, replacement: src('redis/index.ts') },
      { find: /^nestjs-token-cache\/testing$/, replacement: src('testing/index.ts') },
      { find: /^nestjs-token-cache$/, replacement: src('index.ts') },
    ],
  },
  test: {
    include: ['libs/**/*.spec.ts', 'apps/**/*.spec.ts', 'test/**/*.e2e-spec.ts'],
    setupFiles: ['reflect-metadata', 'test/support/known-warnings.ts'],
    // Starts the suite's own Redis on a free port (or explains, once at the end, why Redis tests were skipped).
    globalSetup: ['test/support/global-redis.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
