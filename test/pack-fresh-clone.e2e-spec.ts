import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// `npm pack -w nestjs-token-cache` in a fresh clone, where nothing was built: `prepack` must build first,
// and the tarball must hold every entry point of the exports map (and of typesVersions) as .js and .d.ts.
const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'token-cache-clone-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const run = (cmd: string, args: string[], cwd: string) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('npm pack from a fresh clone', () => {
  it('builds first (prepack) and ships every entry point as .js and .d.ts', () => {
    const clone = join(work, 'repo');
    const head = run('git', ['rev-parse', 'HEAD'], root).trim();
    run('git', ['clone', '--quiet', '--no-checkout', root, clone], work);
    run('git', ['checkout', '--quiet', '--detach', head], clone);
    // The dev dependencies (tsc) of this checkout, instead of a second `npm ci`: the clone has no dist.
    symlinkSync(join(root, 'node_modules'), join(clone, 'node_modules'), 'dir');
    expect(() => readFileSync(join(clone, 'libs/token-cache/dist/index.js'))).toThrow();

    const out = run('npm', ['pack', '-w', 'nestjs-token-cache', '--pack-destination', work, '--json'], clone);
    const [{ filename, files }] = JSON.parse(out.slice(out.indexOf('['))) as [{ filename: string; files: { path: string }[] }];
    const paths = new Set(files.map((f) => f.path));
    const pkg = JSON.parse(readFileSync(join(clone, 'libs/token-cache/package.json'), 'utf8')) as {
      exports: Record<string, string | { types: string; default: string }>;
      typesVersions: Record<string, Record<string, string[]>>;
    };
    const entries = Object.entries(pkg.exports).filter(([name]) => name !== './package.json');
    expect(entries.map(([name]) => name).sort()).toEqual(['.', './core', './health', './redis', './testing']);
    for (const [name, target] of entries) {
      if (typeof target === 'string') throw new Error(`${name}: expected { types, default }`);
      // Condition-free (no "import"/"require"), so CommonJS apps require() the one ESM build.
      expect(Object.keys(target), name).toEqual(['types', 'default']);
      for (const file of [target.types, target.default]) expect(paths.has(file.replace(/^\.\//, '')), `${name}: ${file} in ${filename}`).toBe(true);
    }
    for (const [name, [file]] of Object.entries(pkg.typesVersions['*']!)) expect(paths.has(file!), `typesVersions ${name}: ${file}`).toBe(true);
    expect([...paths].filter((p) => /\.spec\.|(^|\/)src\/|dist\/core\/testing\//.test(p))).toEqual([]);
    expect(paths.has('package.json') && paths.has('README.md')).toBe(true);
  }, 180_000);
});
