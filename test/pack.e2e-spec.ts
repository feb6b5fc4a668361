import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// What users do: `npm pack -w nestjs-token-cache`, install the tarball into a fresh Nest 12 app outside
// this repo, type-check against the shipped .d.ts and run it.
describe('packed package', () => {
  it('installs into fresh ESM and CommonJS Nest apps outside the repo, type-checks and runs every entry point', () => {
    const script = fileURLToPath(new URL('../scripts/pack-smoke.sh', import.meta.url));
    const result = spawnSync('bash', [script], { encoding: 'utf8', timeout: 580_000 });
    const output = `${result.stdout}\n${result.stderr}`;
    expect(result.status, output).toBe(0);
    expect(result.stdout).toContain('PACK-SMOKE OK');
    // CommonJS builds (nest new's CJS tsconfig, and module commonjs + node10 of apps upgraded from Nest <= 11).
    expect(result.stdout).toContain('CJS OK dist-cjs-nodenext');
    expect(result.stdout).toContain('CJS OK dist-cjs-node10');
    expect(output).not.toMatch(/ExperimentalWarning|ERR_REQUIRE_ESM|ERR_PACKAGE_PATH_NOT_EXPORTED/);
  }, 600_000);
});
