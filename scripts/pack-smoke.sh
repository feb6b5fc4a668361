#!/usr/bin/env bash
# Packs nestjs-token-cache, installs the tarball into a fresh Nest 12 app OUTSIDE the repo, type-checks and runs it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/token-cache-pack.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$root"
# npm test built the library first (prepack, which rebuilds, is checked from a fresh clone by
# test/pack-fresh-clone.e2e-spec.ts; running it here would delete dist/ under the other test files).
[ -f libs/token-cache/dist/index.js ] || npm run build:lib --silent
tarball="$(npm pack -w nestjs-token-cache --ignore-scripts --pack-destination "$work" --silent | tail -n 1)"
cd "$work"
mkdir app && cd app
cat > package.json <<JSON
{
  "name": "fresh-nest-app",
  "private": true,
  "type": "module",
  "dependencies": {
    "@nestjs/common": "12.5.1",
    "@nestjs/core": "12.5.1",
    "@nestjs/schedule": "12.0.2",
    "@nestjs/terminus": "12.1.0",
    "axios": "1.21.1",
    "ioredis": "6.0.0",
    "nestjs-token-cache": "file:../$tarball",
    "openid-client": "^6.8.9",
    "reflect-metadata": "0.2.2",
    "rxjs": "7.8.2"
  },
  "devDependencies": { "typescript": "6.0.3", "@types/node": "^20.19.0", "oauth2-mock-server": "8.2.3" }
}
JSON
cat > tsconfig.json <<JSON
{ "compilerOptions": { "target": "ES2022", "module": "nodenext", "moduleResolution": "nodenext", "strict": true,
  "experimentalDecorators": true, "emitDecoratorMetadata": true, "outDir": "dist", "types": ["node"], "skipLibCheck": false } }
JSON
cp "$root/test/pack-app/main.ts" main.ts
# No --prefer-offline: resolve the dependency ranges against the registry as a user's install does today.
npm install --no-audit --no-fund --loglevel=error >/dev/null
# One copy of oauth4webapi, also in an app that uses openid-client itself (objects pass between its functions:
# a DPoP handle is checked with instanceof by the function that sends the request).
node -e '
const fs = require("fs"), path = require("path");
const deps = ["oauth4webapi"];
const found = new Map();
(function walk(dir) {
  for (const e of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    if (e.startsWith(".")) continue;
    const names = e.startsWith("@") ? fs.readdirSync(path.join(dir, e)).map((n) => e + "/" + n) : [e];
    for (const name of names) {
      const at = path.join(dir, name);
      if (deps.includes(name)) found.set(name, [...(found.get(name) ?? []), at]);
      walk(path.join(at, "node_modules"));
    }
  }
})("node_modules");
const dup = [...found].filter(([, at]) => at.length > 1);
if (dup.length) { console.error("duplicate copies:", JSON.stringify(dup)); process.exit(1); }
'
# The tarball holds no tests, no sources outside dist, and the core never imports @nestjs/*.
tar -tzf "../$tarball" | grep -E '\.spec\.|/src/' && { echo 'tarball contains tests or sources' >&2; exit 1; } || true
if grep -rlE "from '@nestjs/" node_modules/nestjs-token-cache/dist/core; then echo 'core imports @nestjs/*' >&2; exit 1; fi
npx tsc -p tsconfig.json
node dist/main.js
# CommonJS apps: the tsconfig of `nest new` (CJS choice: nodenext, no "type") and of apps upgraded from Nest <= 11
# (module commonjs, moduleResolution node10, which ignores "exports": typesVersions gives the types there).
mkdir -p cjs && cp "$root/test/pack-app/cjs/main.ts" cjs/main.ts
echo '{ "type": "commonjs" }' > cjs/package.json
common='"target": "ES2023", "strict": true, "experimentalDecorators": true, "emitDecoratorMetadata": true, "esModuleInterop": true, "skipLibCheck": false, "types": ["node"]'
cat > cjs/tsconfig.nodenext.json <<JSON
{ "compilerOptions": { "module": "nodenext", "moduleResolution": "nodenext", "resolvePackageJsonExports": true, $common, "outDir": "../dist-cjs-nodenext" }, "files": ["main.ts"] }
JSON
cat > cjs/tsconfig.node10.json <<JSON
{ "compilerOptions": { "module": "commonjs", "moduleResolution": "node10", "ignoreDeprecations": "6.0", $common, "outDir": "../dist-cjs-node10" }, "files": ["main.ts"] }
JSON
npx tsc -p cjs/tsconfig.nodenext.json
npx tsc -p cjs/tsconfig.node10.json
for d in dist-cjs-nodenext dist-cjs-node10; do echo '{ "type": "commonjs" }' > "$d/package.json"; node "$d/main.js" "$d" 2>&1; done
