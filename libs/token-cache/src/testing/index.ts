// nestjs-token-cache/testing: test an app that uses the cache without an identity provider. Framework-free.
export { staticToken, type StaticTokenOptions } from '../core/index.js';
export { FakeClock, flush } from './fake-clock.js';
export { TestTokenSource, type TestTokenSourceOptions } from './test-token-source.js';
