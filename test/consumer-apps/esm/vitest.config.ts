import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Nest injects constructor parameters by type: emit decorator metadata.
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } } as never,
  test: {
    globals: true,
    root: './',
    include: ['**/*.spec.ts'],
  },
});
