// Vitest setup file. oidc-provider 9 (a test IdP only, never shipped) prints "Unsupported runtime" on any Node
// before 22 LTS when imported. Its tests pass on the Node 20 we support and run in CI, so that one line is
// dropped here; every other warning passes through.
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === 'string' && args[0].includes('oidc-provider WARNING: Unsupported runtime')) return;
  warn(...args);
};
