// The package README as a user meets it: generated from docs/, every TypeScript snippet compiles against the
// built package, and the Quick start, compiled as written, fetches a token from the demo IdP and calls an API.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoIdp } from '../apps/demo/src/world/demo-idp.js';
import { ResourceApi } from '../apps/demo/src/world/resource-api.js';
import {
  commonJsCompilerOptions,
  compileSnippets,
  isTypeScript,
  TOP_LEVEL_AWAIT_DIAGNOSTICS,
  packageSnippets,
  repoRoot,
  writeSnippetProject,
  type Snippet,
  type SnippetProject,
} from './support/readme-snippets.js';

const run = promisify(execFile);
const packageJson = JSON.parse(readFileSync(join(repoRoot, 'libs/token-cache/package.json'), 'utf8')) as {
  peerDependencies: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
};

describe('README: generated from docs/', () => {
  it('README.md and libs/token-cache/README.md match docs/repo and docs/package, and their links resolve', async () => {
    // Fails with the file to regenerate or the broken link on stderr.
    await expect(run(process.execPath, ['scripts/build-readme.mjs', '--check'], { cwd: repoRoot })).resolves.toBeDefined();
  });
});

describe('README: shipped with the package', () => {
  it('the packed package holds README.md, CHANGELOG.md and LICENSE (MIT, as package.json says)', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', '-w', 'nestjs-token-cache'], { cwd: repoRoot });
    const files = (JSON.parse(stdout) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['README.md', 'CHANGELOG.md', 'LICENSE', 'package.json']));
    const license = readFileSync(join(repoRoot, 'libs/token-cache/LICENSE'), 'utf8');
    expect(license).toMatch(/^MIT License/);
    expect((JSON.parse(readFileSync(join(repoRoot, 'libs/token-cache/package.json'), 'utf8')) as { license: string }).license).toBe('MIT');
    const changelog = readFileSync(join(repoRoot, 'libs/token-cache/CHANGELOG.md'), 'utf8');
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'libs/token-cache/package.json'), 'utf8')) as { version: string };
    expect(changelog).toContain(`## ${version}`);
  }, 60_000);
});

describe('README: snippets', () => {
  const snippets = packageSnippets();
  const compiled = snippets.filter((s) => isTypeScript(s) && s.fragment === undefined);
  let packDir: string;
  let tarball: string;

  beforeAll(async () => {
    // What users install: the packed package (npm test built dist/ first; packing with scripts would rebuild it
    // under the other test files), so a .d.ts that is not shipped, or not reachable through the exports map or
    // typesVersions, fails here.
    packDir = mkdtempSync(join(tmpdir(), 'token-cache-readme-pack-'));
    const { stdout } = await run('npm', ['pack', '-w', 'nestjs-token-cache', '--ignore-scripts', '--pack-destination', packDir, '--json'], { cwd: repoRoot });
    tarball = join(packDir, (JSON.parse(stdout.slice(stdout.indexOf('['))) as [{ filename: string }])[0].filename);
  }, 60_000);
  afterAll(() => rmSync(packDir, { recursive: true, force: true }));

  it('has TypeScript snippets to check, and few fragments', () => {
    expect(compiled.length).toBeGreaterThan(15);
    const fragments = snippets.filter((s) => isTypeScript(s) && s.fragment !== undefined);
    expect(fragments.length, fragments.map((s) => `${s.doc}:${s.line}`).join(', ')).toBeLessThanOrEqual(Math.ceil(compiled.length / 10));
  });

  it('every ```ts snippet compiles (tsc strict, nodenext, decorators) in an ESM app against the packed package', () => {
    const project = writeSnippetProject(compiled, { tarball });
    try {
      const problems = compileSnippets(project).map((d) => `${d.where}: ${d.message}`);
      expect(problems, problems.join('\n\n')).toEqual([]);
    } finally {
      project.remove();
    }
  }, 180_000);

  it.each(Object.keys(commonJsCompilerOptions) as (keyof typeof commonJsCompilerOptions)[])(
    'every ```ts snippet compiles in a CommonJS app (moduleResolution %s) against the packed package',
    (resolution) => {
      const project = writeSnippetProject(compiled, { tarball, moduleType: 'commonjs' });
      try {
        const problems = compileSnippets(project, commonJsCompilerOptions[resolution])
          .filter((d) => !TOP_LEVEL_AWAIT_DIAGNOSTICS.has(d.code))
          .map((d) => `${d.where}: ${d.message}`);
        expect(problems, problems.join('\n\n')).toEqual([]);
      } finally {
        project.remove();
      }
    },
    180_000,
  );

  it('the Quick start install line names every required peer dependency', () => {
    const quickStart = snippets.filter((s) => s.doc.endsWith('quick-start.md'));
    const install = quickStart.map((s) => s.code).join('\n').split('\n').find((l) => l.startsWith('npm install '));
    expect(install).toBeDefined();
    const named = install!.split(/\s+/).slice(2);
    const required = Object.keys(packageJson.peerDependencies).filter((p) => !packageJson.peerDependenciesMeta?.[p]?.optional);
    expect(named).toContain('nestjs-token-cache');
    for (const peer of required) expect(named, `npm install line lacks ${peer}`).toContain(peer);
  });
});

describe('README: the Quick start runs as written against the demo IdP', () => {
  const CLIENT_ID = 'quick-start';
  const CLIENT_SECRET = 'qs-secret-9f3Kd02LmQ7xZ';
  let idp: DemoIdp;
  let api: ResourceApi;
  let project: SnippetProject;
  let app: ChildProcess | undefined;
  let url: string;
  let output = '';

  beforeAll(async () => {
    idp = await DemoIdp.start({ ttlSeconds: 300, clients: { [CLIENT_ID]: { secret: CLIENT_SECRET } }, apiUsers: {} });
    api = await ResourceApi.start({ idp });
    const files = packageSnippets().filter((s: Snippet) => s.doc.endsWith('quick-start.md') && isTypeScript(s) && s.fileName?.startsWith('src/'));
    expect(files.map((s) => s.fileName).sort()).toContain('src/main.ts');
    project = writeSnippetProject(files);
    const diagnostics = compileSnippets(project, { outDir: join(project.dir, 'dist'), rootDir: project.dir });
    expect(diagnostics.map((d) => `${d.where}: ${d.message}`)).toEqual([]);

    const main = join(project.dir, 'dist/app/src/main.js');
    app = spawn(process.execPath, [main], {
      cwd: project.dir,
      env: {
        ...process.env,
        PORT: '0',
        ORDERS_TOKEN_URL: idp.tokenUrl,
        ORDERS_CLIENT_ID: CLIENT_ID,
        ORDERS_CLIENT_SECRET: CLIENT_SECRET,
        ORDERS_API_URL: `${api.url}/gateway`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    app.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    app.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the Quick start app did not print its URL:\n${output}`)), 30_000);
      const check = () => {
        const match = /Listening on (http:\/\/\S+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1].replace('[::1]', '127.0.0.1'));
        }
      };
      app!.stdout!.on('data', check);
      app!.once('exit', (code) => reject(new Error(`the Quick start app exited with ${code}:\n${output}`)));
    });
  }, 120_000);

  afterAll(async () => {
    if (app && app.exitCode === null && app.signalCode === null) {
      const exited = new Promise((resolve) => app!.once('exit', resolve));
      app.kill('SIGTERM');
      await exited;
    }
    project?.remove();
    await api?.close();
    await idp?.close();
  });

  it('GET /orders fetches one token from the IdP and answers the API reply; a second call reuses the token', async () => {
    const first = await fetch(`${url}/orders`);
    expect(first.status, output).toBe(200);
    const body = (await first.json()) as { orders: unknown[]; client: string };
    expect(body.client).toBe(CLIENT_ID);
    expect(body.orders.length).toBeGreaterThan(0);

    const second = await fetch(`${url}/orders`);
    expect(second.status).toBe(200);
    expect(idp.countFor(CLIENT_ID)).toBe(1);
    expect(api.stats().rejected).toBe(0);
  });

  it('stops on SIGTERM: enableShutdownHooks closes the app, which then leaves nothing running', async () => {
    // Nest closes the app, then re-raises the signal: the process ends by SIGTERM, promptly.
    const exited = new Promise<string | number | null>((resolve) => app!.once('exit', (code, signal) => resolve(signal ?? code)));
    app!.kill('SIGTERM');
    expect(await exited).toBe('SIGTERM');
    expect(output).not.toContain(CLIENT_SECRET);
  });
});

// The README's testing examples run under the runners they are written for, with its Quick start app, in the
// consumer apps of test/consumer-apps.e2e-spec.ts: the Vitest ones in the ESM app, the Jest one under real Jest
// (Node 24) in the CommonJS app.
