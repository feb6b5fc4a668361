// Assembles README.md (and the package's README) from docs/readme/*.md, in file-name order.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = `${root}docs/readme/`;
const parts = readdirSync(dir).filter((f) => f.endsWith('.md')).sort().map((f) => readFileSync(dir + f, 'utf8').trim());
const readme = `${parts.join('\n\n')}\n`;
writeFileSync(`${root}README.md`, readme);
writeFileSync(`${root}libs/token-cache/README.md`, readme);
console.log(`README.md: ${parts.length} sections, ${readme.length} characters`);
