// Builds the export page: compiles web/src/*.ts (DOM types, ES modules the browser loads as they
// are) and copies the static files beside them. `node scripts/build-web.mjs [outDir]`, default
// dist/web; the browser tests build into a temporary directory with it.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const project = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(project, 'web');
const outDir = resolve(process.argv[2] ?? join(project, 'dist', 'web'));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

mkdirSync(outDir, { recursive: true });
execFileSync(process.execPath, [tsc, '-p', join(web, 'tsconfig.json'), '--outDir', outDir], {
  stdio: 'inherit',
});
for (const name of readdirSync(web)) {
  if (/\.(html|css|svg|png)$/.test(name)) copyFileSync(join(web, name), join(outDir, name));
}
