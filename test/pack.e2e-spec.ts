import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// What users do: `npm pack -w nestjs-token-cache`, install the tarball into a fresh Nest 12 app outside
// this repo, type-check against the shipped .d.ts and run it.
describe('packed package', () => {
  it('installs into a fresh Nest app outside the repo, type-checks and runs', () => {
    const script = fileURLToPath(new URL('../scripts/pack-smoke.sh', import.meta.url));
    const result = spawnSync('bash', [script], { encoding: 'utf8', timeout: 280_000 });
    const output = `${result.stdout}\n${result.stderr}`;
    expect(result.status, output).toBe(0);
    expect(result.stdout).toContain('PACK-SMOKE OK');
  }, 300_000);
});
