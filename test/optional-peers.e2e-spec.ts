/**
 * `@nestjs/terminus` is an optional peer: an app that does not use health installs nothing for it. So no
 * module reachable from the built main entry point (or /core) may import it; only /health does.
 * Compiles the library into a temporary folder and walks the real ESM import graph of the output.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
let outDir: string;

/** Bare specifiers imported by `entry` and everything it imports relatively, at run time. */
function runtimeImports(entry: string): Set<string> {
  const seen = new Set<string>();
  const bare = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(file, 'utf8');
    for (const m of code.matchAll(/(?:^|;|\n)\s*(?:import|export)\s*(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else bare.add(spec);
    }
  };
  visit(entry);
  return bare;
}

describe('optional peers in the built package', () => {
  beforeAll(() => {
    outDir = mkdtempSync(join(tmpdir(), 'token-cache-dist-'));
    try {
      execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'libs/token-cache/tsconfig.lib.json'), '--outDir', outDir], {
        cwd: root,
        stdio: 'pipe',
      });
    } catch {
      // Type errors are the typecheck's business; tsc still emits, and the import graph is what is checked here.
    }
  }, 120_000);
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('the main entry point and /core never import @nestjs/terminus; /health does', () => {
    expect(existsSync(join(outDir, 'index.js'))).toBe(true);
    const main = runtimeImports(join(outDir, 'index.js'));
    expect(main).toContain('@nestjs/common'); // the walk really follows the graph
    expect([...main].filter((s) => s.startsWith('@nestjs/terminus'))).toEqual([]);
    expect([...main].filter((s) => s === 'ioredis')).toEqual([]);
    const core = runtimeImports(join(outDir, 'core/index.js'));
    expect([...core].filter((s) => s.startsWith('@nestjs/'))).toEqual([]);
    expect(runtimeImports(join(outDir, 'health/index.js'))).toContain('@nestjs/terminus');
  });
});
