/**
 * The TypeScript snippets of the package README (docs/package/*.md), and a type-check of them against the
 * built package, as a user's app sees it: a throwaway project in the OS temp dir whose `node_modules` is the
 * repository's (so `nestjs-token-cache` resolves, through its workspace link, to `libs/token-cache` and its
 * `exports` map: the built `dist/*.d.ts`, never the sources).
 *
 * Conventions for snippet authors (see docs/repo/10-development.md):
 * - Every ```ts fence is compiled on its own, as a module, with `strict`.
 * - A first line `// src/orders.service.ts` names the snippet's file: named snippets form one app across the
 *   README (`app/`), so they can import each other (`import { OrdersService } from '../src/orders.service.js'`);
 *   a name may be used once. Unnamed snippets stand alone, each in its docs file's folder.
 * - Jest examples (`describe`, `it`, `expect`… as globals) are type-checked here with vitest's declarations of
 *   those globals standing in for `@types/jest` (which this repository does not install); the CommonJS consumer
 *   app of test/consumer-apps.e2e-spec.ts type-checks them with `@types/jest` and runs them under Jest.
 * - `<!-- fragment: why -->` on the line before a fence: not compiled (keep this rare; say why).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const packageDocsDir = join(repoRoot, 'docs/package');

export interface Snippet {
  /** The docs file, e.g. `docs/package/05-quick-start.md`. */
  doc: string;
  /** 1-based line of the opening fence in that file. */
  line: number;
  lang: string;
  code: string;
  /** The file name the snippet gives itself (`// src/app.module.ts`), if any. */
  fileName?: string;
  /** The reason of a `<!-- fragment: … -->` marker: the snippet is not compiled. */
  fragment?: string;
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/;
const FILE_NAME = /^\/\/\s*((?:[\w.-]+\/)*[\w.-]+\.(?:ts|mts|cts))\s*$/;
const FRAGMENT = /^<!--\s*fragment:\s*(.+?)\s*-->$/;

/** Every fenced code block of a markdown text, with the marker of the line before it. */
export function extractSnippets(doc: string, markdown: string): Snippet[] {
  const lines = markdown.split('\n');
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]);
    if (!open) continue;
    const fence = open[2];
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !(lines[i].trim().startsWith(fence) && lines[i].trim().replace(/[`~]/g, '') === ''); i++) {
      body.push(lines[i].slice(Math.min(open[1].length, lines[i].length - lines[i].trimStart().length)));
    }
    const prev = start > 0 ? lines[start - 1].trim() : '';
    const fileName = FILE_NAME.exec(body[0] ?? '')?.[1];
    out.push({ doc, line: start + 1, lang: open[3], code: body.join('\n'), fileName, fragment: FRAGMENT.exec(prev)?.[1] });
  }
  return out;
}

/** The snippets of every docs/package/*.md, in README order. */
export function packageSnippets(): Snippet[] {
  return readdirSync(packageDocsDir)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .flatMap((f) => extractSnippets(`docs/package/${f}`, readFileSync(join(packageDocsDir, f), 'utf8')));
}

export const isTypeScript = (s: Snippet): boolean => s.lang === 'ts' || s.lang === 'typescript';

/** A user's tsconfig as `nest new` makes it (decorators, `skipLibCheck`), ESM (`nodenext`), and `strict`. */
export const userCompilerOptions: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  esModuleInterop: true,
  types: ['node'],
  skipLibCheck: true,
  noUnusedLocals: false,
  forceConsistentCasingInFileNames: true,
};

/**
 * How CommonJS apps compile (their package.json has no `"type": "module"`, so tsc emits `require`): `nest new`'s
 * CJS template (`nodenext`); `node16` resolution (with `module: node20`, the lowest module kind whose CommonJS
 * output may require ES modules: under `module: node16` not even `@nestjs/common` 12 imports); and apps upgraded
 * from Nest <= 11 (`commonjs` + `node10`, which ignores `exports`, so `typesVersions` must answer).
 */
export const commonJsCompilerOptions: Record<'nodenext' | 'node16' | 'node10', ts.CompilerOptions> = {
  nodenext: { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext },
  node16: { module: ts.ModuleKind.Node20, moduleResolution: ts.ModuleResolutionKind.Node16 },
  node10: { module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10, ignoreDeprecations: '6.0' },
};

/**
 * Top-level `await` in a snippet stands for code inside an async function (a service method, `bootstrap()`):
 * CommonJS has no top-level await, so these two diagnostics say nothing about the package in a CommonJS check.
 */
export const TOP_LEVEL_AWAIT_DIAGNOSTICS = new Set([1309, 1378]);

const JEST_GLOBALS = `// Jest's globals, typed by vitest's equivalents (the README's Jest example uses only these).
type V = typeof import('vitest');
declare global {
  const describe: V['describe'];
  const it: V['it'];
  const test: V['test'];
  const expect: V['expect'];
  const beforeAll: V['beforeAll'];
  const afterAll: V['afterAll'];
  const beforeEach: V['beforeEach'];
  const afterEach: V['afterEach'];
}
export {};
`;

export interface SnippetProject {
  dir: string;
  /** Snippet → its file in the project. */
  files: Map<Snippet, string>;
  remove(): void;
}

export interface SnippetProjectOptions {
  /** `commonjs`: a package.json without `"type": "module"`, as a CommonJS Nest app has. Default `module`. */
  moduleType?: 'module' | 'commonjs';
  /**
   * A packed tarball of the package (`npm pack`): unpacked as the project's `node_modules/nestjs-token-cache`,
   * so only what ships is seen. Default: the workspace link (the built `libs/token-cache`).
   */
  tarball?: string;
}

/** Writes the snippets into a fresh project in the OS temp dir (never the work tree). */
export function writeSnippetProject(snippets: Snippet[], options: SnippetProjectOptions = {}): SnippetProject {
  const dir = mkdtempSync(join(tmpdir(), 'token-cache-readme-'));
  const type = options.moduleType === 'commonjs' ? {} : { type: 'module' };
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'readme-snippets', private: true, ...type }));
  if (options.tarball === undefined) {
    symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  } else {
    // The repository's packages (peers, @types, vitest) by link, and the package itself from the tarball.
    const modules = join(dir, 'node_modules');
    mkdirSync(modules);
    for (const entry of readdirSync(join(repoRoot, 'node_modules'))) {
      if (entry !== 'nestjs-token-cache') symlinkSync(join(repoRoot, 'node_modules', entry), join(modules, entry), 'dir');
    }
    execFileSync('tar', ['-xzf', options.tarball, '-C', dir]);
    renameSync(join(dir, 'package'), join(modules, 'nestjs-token-cache'));
  }
  const files = new Map<Snippet, string>();
  const taken = new Set<string>();
  for (const s of snippets) {
    // Named snippets make up one app; unnamed ones get their docs file's folder and their line.
    const folder = s.doc.replace(/^docs\/package\//, '').replace(/\.md$/, '');
    const file = s.fileName === undefined ? join(dir, folder, `snippet-line-${s.line}.ts`) : join(dir, 'app', s.fileName);
    if (taken.has(file)) throw new Error(`${s.doc}:${s.line}: a second snippet named ${s.fileName}`);
    taken.add(file);
    mkdirSync(dirname(file), { recursive: true });
    // `export {}` keeps each snippet a module, so two snippets may both declare `cache` or `app`.
    writeFileSync(file, `${s.code}\nexport {};\n`);
    files.set(s, file);
  }
  writeFileSync(join(dir, 'jest-globals.d.ts'), JEST_GLOBALS);
  return { dir, files, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface SnippetDiagnostic {
  /** `docs/package/10-cache.md:42` (the line in the docs file). */
  where: string;
  message: string;
  /** TypeScript's diagnostic code (`TS2345` → 2345). */
  code: number;
}

/** Type-checks (and, with `outDir`, emits) the project's files; diagnostics point into the docs files. */
export function compileSnippets(project: SnippetProject, options: ts.CompilerOptions = {}): SnippetDiagnostic[] {
  const byFile = new Map([...project.files].map(([s, f]) => [f, s] as const));
  const program = ts.createProgram([...project.files.values(), join(project.dir, 'jest-globals.d.ts')], { ...userCompilerOptions, noEmit: options.outDir === undefined, ...options });
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...(options.outDir === undefined ? [] : program.emit().diagnostics)];
  return diagnostics.map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) return { where: '(project)', message, code: d.code };
    const snippet = byFile.get(d.file.fileName);
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    const where = snippet ? `${snippet.doc}:${snippet.line + 1 + line}` : relative(project.dir, d.file.fileName);
    return { where, message, code: d.code };
  });
}
