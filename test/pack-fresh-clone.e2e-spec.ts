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
/** The tarball the first test packed (the second reads what npm would show from it). */
let tarball: string | undefined;

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
    tarball = join(work, filename);
  }, 540_000); // a clone, a build and a pack: minutes on a loaded machine

  it("the tarball's package.json: what npm shows (repository, homepage, bugs, keywords), nothing dev-only, every dependency used", () => {
    if (tarball === undefined) throw new Error('the pack test above failed: no tarball to read');
    const shipped = JSON.parse(run('tar', ['-xzOf', tarball, 'package/package.json'], work)) as Record<string, unknown> & {
      scripts?: Record<string, string>;
      dependencies: Record<string, string>;
      peerDependencies: Record<string, string>;
    };
    expect(shipped).toMatchObject({
      repository: { type: 'git', url: 'git+https://github.com/nestjs-token-cache/nestjs-token-cache.git', directory: 'libs/token-cache' },
      homepage: expect.stringMatching(/^https:\/\/github\.com\/nestjs-token-cache\/nestjs-token-cache\b/),
      bugs: { url: 'https://github.com/nestjs-token-cache/nestjs-token-cache/issues' },
      keywords: expect.arrayContaining(['nestjs', 'oauth2', 'token', 'cache']),
      license: 'MIT',
    });
    // Only what a user's install or npm's page reads: no devDependencies, workspaces, overrides, private, config.
    const allowed = ['name', 'version', 'description', 'license', 'repository', 'homepage', 'bugs', 'keywords', 'type', 'main', 'types', 'exports', 'typesVersions', 'files', 'sideEffects', 'engines', 'dependencies', 'peerDependencies', 'peerDependenciesMeta', 'scripts'];
    expect(Object.keys(shipped).filter((k) => !allowed.includes(k))).toEqual([]);
    // `prepack` (and the `build` it runs) only run where the package is packed; nothing runs on a user's install.
    expect(Object.keys(shipped.scripts ?? {}).sort()).toEqual(['build', 'prepack']);
    for (const [name, range] of Object.entries({ ...shipped.dependencies, ...shipped.peerDependencies })) {
      expect(range, `${name}: a registry range, not a local path`).not.toMatch(/^(file|link|workspace|git|https?):/);
    }
    // Every dependency and peer is imported by the shipped code (none is a test tool), and every bare import is declared.
    const unpacked = join(work, 'unpacked');
    run('mkdir', ['-p', unpacked], work);
    run('tar', ['-xzf', tarball, '-C', unpacked], work);
    const code = run('find', [join(unpacked, 'package/dist'), '-name', '*.js'], work).trim().split('\n').map((f) => readFileSync(f, 'utf8')).join('\n');
    const imported = new Set([...code.matchAll(/(?:^|[;\s])(?:from\s*|import\s*\(\s*|import\s+)'([^'.][^']*)'/gm)].map((m) => m[1]!.replace(/^((?:@[^/]+\/)?[^/]+).*$/, '$1')).filter((s) => !s.startsWith('node:') && /^(@[\w.-]+\/)?[\w.-]+$/.test(s)));
    const declared = new Set([...Object.keys(shipped.dependencies), ...Object.keys(shipped.peerDependencies)]);
    expect([...declared].filter((d) => !imported.has(d)), 'declared but never imported').toEqual([]);
    expect([...imported].filter((i) => !declared.has(i)), 'imported but not declared').toEqual([]);
  });
});
