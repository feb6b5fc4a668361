/**
 * Two consumer apps made the way `nest new` makes them (test/consumer-apps: ESM + Vitest, and CommonJS + Jest),
 * each in a temporary directory outside the repository: the packed tarball installed with npm, built with tsc
 * (what `nest build` runs), started, and asked over HTTP for a report that it fetches from an API through a
 * `forFeature` client, with a token from a real OAuth server on loopback. Each app's own tests run too (Vitest in
 * the ESM app; Jest in the CommonJS app, on a Node 24 installed from the npm registry for that test only), and so
 * do the package README's examples, extracted from docs/package (not copied): the Quick start app with the
 * Vitest examples of "Testing your app" under the ESM app's Vitest, and with the Jest example under the CommonJS
 * app's Jest, after a type-check of both with the app's own tsconfig (real `@types/jest` there).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockIdp, type MockIdp } from './support/mock-idp.js';
import { isTypeScript, packageSnippets } from './support/readme-snippets.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixtures = join(root, 'test/consumer-apps');
/** Jest needs Node >= 24.9 to require() the ESM-only @nestjs/* 12: a Node 24 from the npm registry, for that test only. */
const NODE24_VERSION = '24.22.3';
const STEP_TIMEOUT = 600_000;

let work: string;
let tarball: string;
let idp: MockIdp;
let api: Server;
let apiUrl: string;
const apiSaw: { authorization: string; valid: boolean }[] = [];

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): { status: number | null; output: string } {
  const result = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: STEP_TIMEOUT });
  const output = `${result.stdout}\n${result.stderr}${result.error ? `\n${result.error.message}` : ''}`;
  // Without colour codes, so that summaries ("Tests  4 passed") can be matched.
  return { status: result.status, output: output.replace(/\x1b\[[0-9;]*m/g, '') };
}

function must(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const { status, output } = run(cmd, args, cwd, env);
  if (status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${status}:\n${output}`);
  return output;
}

/** Copies a fixture outside the repository and installs its dependencies, the packed package among them. */
function install(name: 'esm' | 'cjs'): string {
  const dir = join(work, name);
  cpSync(join(fixtures, name), dir, { recursive: true });
  const pkgPath = join(dir, 'package.json');
  writeFileSync(pkgPath, readFileSync(pkgPath, 'utf8').replace('file:__TARBALL__', `file:${tarball}`));
  must('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], dir);
  return dir;
}

/** Starts the built app on a free port; resolves with its URL once it listens. */
function startApp(dir: string): Promise<{ url: string; child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, ['dist/main'], {
    cwd: dir,
    env: {
      ...process.env,
      PORT: '0',
      IDP_TOKEN_URL: idp.tokenUrl,
      IDP_CLIENT_ID: 'consumer-app',
      IDP_CLIENT_SECRET: 'consumer-secret',
      REPORTS_API_URL: apiUrl,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Listening on (http:\/\/\S+)/.exec(output);
      if (match) resolve({ url: match[1]!.replace('[::1]', '127.0.0.1'), child, output: () => output });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the app exited (${code}) before listening:\n${output}`)));
  });
}

async function stopApp(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/**
 * Writes the package README's app (its `src/` snippets: the Quick start) and its test examples for one runner
 * (those importing from 'vitest', or those using Jest's globals) into `<app>/readme/`, as named in the README.
 * Returns how many tests they hold.
 */
function writeReadmeExamples(dir: string, runner: 'jest' | 'vitest'): number {
  const named = packageSnippets().filter((s) => isTypeScript(s) && s.fragment === undefined && s.fileName !== undefined);
  const app = named.filter((s) => s.fileName!.startsWith('src/'));
  const tests = named.filter((s) => /\.(e2e-)?spec\.ts$/.test(s.fileName!) && /from 'vitest'/.test(s.code) === (runner === 'vitest'));
  expect(app.map((s) => s.fileName)).toContain('src/app.module.ts');
  expect(tests.map((s) => s.fileName)).toContain(runner === 'vitest' ? 'test/orders.service.spec.ts' : 'test/app.e2e-spec.ts');
  for (const s of [...app, ...tests]) {
    const file = join(dir, 'readme', s.fileName!);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${s.code}\n`);
  }
  return tests.reduce((n, s) => n + (s.code.match(/^\s*(it|test)\(/gm)?.length ?? 0), 0);
}

/** What the README says a test run of the Quick start app needs (any values: the tests replace its sources). */
const README_TEST_ENV = { ORDERS_TOKEN_URL: 'http://127.0.0.1:9/token', ORDERS_CLIENT_ID: 'test', ORDERS_CLIENT_SECRET: 'test' };

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'token-cache-consumers-'));
  // `npm test` built the library first; packing with scripts would rebuild dist/ under the other test files.
  const out = must('npm', ['pack', '-w', 'nestjs-token-cache', '--ignore-scripts', '--pack-destination', work, '--json'], root);
  tarball = join(work, (JSON.parse(out.slice(out.indexOf('['), out.lastIndexOf(']') + 1)) as [{ filename: string }])[0].filename);
  idp = await startMockIdp();
  // The reports API: answers only tokens this IdP issued (signature checked against its keys).
  api = createServer((req, res) => {
    const authorization = req.headers.authorization ?? '';
    const token = /^Bearer (\S+)$/.exec(authorization)?.[1];
    void (token ? idp.verify(token).then(() => true, () => false) : Promise.resolve(false)).then((valid) => {
      apiSaw.push({ authorization, valid });
      if (!valid) return res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ report: 'latest', path: req.url }));
    });
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
}, STEP_TIMEOUT);

afterAll(async () => {
  await new Promise<void>((resolve) => api?.close(() => resolve()));
  await idp?.close();
  // Two apps' node_modules and a Node binary: removing them takes a while on a loaded machine.
  await rm(work, { recursive: true, force: true });
}, STEP_TIMEOUT);

describe.each([
  { name: 'esm' as const, moduleSystem: 'esm' },
  { name: 'cjs' as const, moduleSystem: 'commonjs' },
])('consumer app: $name', ({ name, moduleSystem }) => {
  let dir: string;

  it('installs the packed tarball, builds with tsc, starts, and calls the API through a forFeature client with an IdP token', async () => {
    dir = install(name);
    must('npm', ['run', 'build'], dir);
    const requestsBefore = idp.tokenRequests;
    const sawBefore = apiSaw.length;
    const app = await startApp(dir);
    try {
      expect(await (await fetch(`${app.url}/`)).text()).toBe('Hello World!');
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${app.url}/report`);
        expect(res.status, app.output()).toBe(200);
        expect(await res.json()).toEqual({ report: 'latest', path: '/reports/latest' });
      }
      const calls = apiSaw.slice(sawBefore);
      expect(calls).toHaveLength(3);
      expect(calls.every((c) => c.valid)).toBe(true);
      expect(new Set(calls.map((c) => c.authorization)).size).toBe(1); // one cached token
      expect(idp.tokenRequests - requestsBefore).toBe(1);
      expect(idp.requests.at(-1)).toMatchObject({ grantType: 'client_credentials' });
      const check = await (await fetch(`${app.url}/package-check`)).json();
      expect(check).toEqual({ tokenCacheServiceIsTokenCache: true, oneStaticToken: true, redisStore: true, health: 'up', moduleSystem });
    } finally {
      await stopApp(app.child);
    }
    expect(app.output()).not.toMatch(/ExperimentalWarning|ERR_REQUIRE_ESM|ERR_PACKAGE_PATH_NOT_EXPORTED|secret/i);
  }, STEP_TIMEOUT);

  if (name === 'esm') {
    it("runs the app's Vitest example (nestjs-token-cache/testing: staticToken, FakeClock, TestTokenSource)", () => {
      const { status, output } = run('npm', ['run', 'test:e2e'], dir);
      expect(status, output).toBe(0);
      expect(output).toMatch(/Tests\s+4 passed/);
    }, STEP_TIMEOUT);

    it("runs the package README's Vitest examples with its Quick start app under the app's Vitest", () => {
      const tests = writeReadmeExamples(dir, 'vitest');
      must('npx', ['tsc', '--noEmit', '-p', 'tsconfig.json'], dir);
      const { status, output } = run('npx', ['vitest', 'run', 'readme/'], dir, README_TEST_ENV);
      expect(status, output).toBe(0);
      expect(output).toMatch(new RegExp(`Tests\\s+${tests} passed \\(${tests}\\)`));
    }, STEP_TIMEOUT);
  } else {
    let node24: string;
    /** Jest as `nest new` sets it up, on Node 24 (`--experimental-vm-modules`, as the README says). */
    const jest = (config: string, env: NodeJS.ProcessEnv = {}) =>
      run(node24, ['--experimental-vm-modules', './node_modules/jest/bin/jest.js', '--config', config], dir, env);

    it("runs the app's Jest example on Node 24 (Jest needs Node >= 24.9 to require Nest 12)", () => {
      const nodeDir = join(work, 'node24');
      const pkg = `node-${process.platform}-${process.arch}@${NODE24_VERSION}`;
      must('npm', ['install', '--prefix', nodeDir, '--no-save', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', pkg], work);
      node24 = join(nodeDir, 'node_modules', `node-${process.platform}-${process.arch}`, 'bin', 'node');
      expect(must(node24, ['--version'], work).trim()).toBe(`v${NODE24_VERSION}`);
      const { status, output } = jest('./test/jest-e2e.json');
      expect(status, output).toBe(0);
      expect(output).toMatch(/Tests:\s+4 passed, 4 total/);
    }, STEP_TIMEOUT);

    it("runs the package README's Jest example with its Quick start app under real Jest (ts-jest, CommonJS, Node 24)", () => {
      const tests = writeReadmeExamples(dir, 'jest');
      // Type-checked with the app's tsconfig: CommonJS, Jest's own types.
      must('npx', ['tsc', '--noEmit', '-p', 'tsconfig.json'], dir);
      // The app's Jest config, plus the mapping of `.js` endings the README gives for CommonJS apps.
      const mapper = { '^(\\.{1,2}/.*)\\.js$': '$1' };
      expect(readFileSync(join(root, 'docs/package/70-testing.md'), 'utf8')).toContain(`moduleNameMapper: { '${Object.keys(mapper)[0]!.replaceAll('\\', '\\\\')}': '$1' }`);
      const config = { ...(JSON.parse(readFileSync(join(dir, 'test/jest-e2e.json'), 'utf8')) as object), moduleNameMapper: mapper };
      writeFileSync(join(dir, 'readme/test/jest-e2e.json'), JSON.stringify(config, null, 2));
      const { status, output } = jest('./readme/test/jest-e2e.json', README_TEST_ENV);
      expect(status, output).toBe(0);
      expect(output).toMatch(new RegExp(`Tests:\\s+${tests} passed, ${tests} total`));
    }, STEP_TIMEOUT);
  }
});
