// Assembles the two READMEs, each from its folder's *.md in file-name order:
//   docs/package/*.md -> libs/token-cache/README.md (what npm shows: the user reference, with a table of contents)
//   docs/repo/*.md    -> README.md (the repository: demo, development, benchmarks, design)
// and copies CHANGELOG.md and LICENSE into libs/token-cache/, so the package ships them.
// `node scripts/build-readme.mjs --check` writes nothing and exits 1 when a generated README is stale.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The `<!-- toc -->` line of a part is replaced by a table of contents of the `##` and `###` headings. */
export const TOC_MARKER = '<!-- toc -->';

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function slugger() {
  const seen = new Map();
  return (text) => {
    const base = text
      .replace(/`/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .trim()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return n === 0 ? base : `${base}-${n}`;
  };
}

/** The headings of a markdown text outside fenced code blocks: `{ level, text }`. */
export function headings(markdown) {
  const out = [];
  let fence = null;
  for (const line of markdown.split('\n')) {
    const f = /^\s*(`{3,}|~{3,})/.exec(line);
    if (f) {
      if (fence === null) fence = f[1];
      else if (f[1].startsWith(fence)) fence = null;
      continue;
    }
    if (fence !== null) continue;
    const h = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) out.push({ level: h[1].length, text: h[2] });
  }
  return out;
}

export function tableOfContents(markdown) {
  const slug = slugger();
  const lines = [];
  for (const { level, text } of headings(markdown)) {
    const anchor = slug(text); // every heading takes its anchor, so repeats are numbered as GitHub does
    if (level < 2 || level > 3) continue;
    lines.push(`${'  '.repeat(level - 2)}- [${text.replace(/[[\]]/g, '\\$&')}](#${anchor})`);
  }
  return lines.join('\n');
}

function assemble(folder) {
  const dir = `${root}${folder}/`;
  const parts = readdirSync(dir)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => readFileSync(dir + f, 'utf8').trim());
  const text = `${parts.join('\n\n')}\n`;
  if (!text.includes(TOC_MARKER)) return { text, parts: parts.length };
  const toc = tableOfContents(text.replace(TOC_MARKER, ''));
  return { text: text.replace(TOC_MARKER, `**Contents**\n\n${toc}`), parts: parts.length };
}

/**
 * Problems with the links of a README: an in-page `#anchor` no heading has, and (for the package README,
 * which npm shows away from the repository) a relative link to a file.
 */
export function linkProblems(markdown, { relativeFiles = true } = {}) {
  const slug = slugger();
  const anchors = new Set(headings(markdown).map(({ text }) => slug(text)));
  const problems = [];
  let fence = null;
  for (const line of markdown.split('\n')) {
    const f = /^\s*(`{3,}|~{3,})/.exec(line);
    if (f) {
      if (fence === null) fence = f[1];
      else if (f[1].startsWith(fence)) fence = null;
      continue;
    }
    if (fence !== null) continue;
    for (const [, target] of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)) {
      if (target.startsWith('#')) {
        if (!anchors.has(target.slice(1))) problems.push(`no heading for the link ${target}`);
      } else if (!relativeFiles && !/^[a-z][a-z0-9+.-]*:/i.test(target)) {
        problems.push(`relative link ${target} (npm shows this README outside the repository: use an absolute URL)`);
      }
    }
  }
  return problems;
}

/** `{ [path relative to the repository]: { text, parts } }` for both READMEs. */
export function buildReadmes() {
  const copy = (path) => ({ text: readFileSync(root + path, 'utf8'), parts: 1 });
  return {
    'libs/token-cache/README.md': assemble('docs/package'),
    'README.md': assemble('docs/repo'),
    'libs/token-cache/CHANGELOG.md': copy('CHANGELOG.md'),
    'libs/token-cache/LICENSE': copy('LICENSE'),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [path, { text, parts }] of Object.entries(buildReadmes())) {
    if (check) {
      let current = '';
      try { current = readFileSync(root + path, 'utf8'); } catch {}
      if (current !== text) { stale++; console.error(`${path} is out of date: run npm run readme`); }
      if (!path.endsWith('README.md')) continue;
      for (const problem of linkProblems(text, { relativeFiles: path === 'README.md' })) { stale++; console.error(`${path}: ${problem}`); }
    } else {
      writeFileSync(root + path, text);
      console.log(`${path}: ${parts} parts, ${text.length} characters`);
    }
  }
  if (stale) process.exit(1);
}
