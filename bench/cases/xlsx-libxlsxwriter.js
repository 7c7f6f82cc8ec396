// libxlsxwriter (C, constant_memory mode) over the reference table: bench/native/libxlsxwriter.c,
// built here with cc when the library is installed (`apt-get install libxlsxwriter-dev`), else
// skipped. The C program builds the same rows by gen.js's algorithm (checked: same checksum);
// `generatorMs` is its own generation time, so the net figure subtracts that, not Node's.
// `maxRssMB` and `cpuMs` are the C program's own (GNU time).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { outPath, report, rowCount, rows } from '../case-support.js';

const n = rowCount();
const source = join(dirname(fileURLToPath(import.meta.url)), '..', 'native', 'libxlsxwriter.c');
const binary = outPath(import.meta.url, 'bin'); // under bench/out/, never committed
const header = ['/usr/include/xlsxwriter.h', '/usr/local/include/xlsxwriter.h'].some((h) => existsSync(h));
const cc = spawnSync('cc', ['--version'], { stdio: 'ignore' }).status === 0;
if (!header || !cc) {
  const skipped = header
    ? 'no C compiler (cc)'
    : 'libxlsxwriter is not installed (apt-get install libxlsxwriter-dev)';
  process.stdout.write(`${JSON.stringify({ case: 'xlsx-libxlsxwriter', tool: 'libxlsxwriter', skipped })}\n`);
  process.exit(0);
}
execFileSync('cc', ['-O2', '-o', binary, source, '-lxlsxwriter'], { stdio: 'inherit' });

// The C rows are gen.js's: the same quantity checksum over the first 10,000 rows.
let expected = 0;
for (const row of rows(10_000)) expected += row[5];
const check = execFileSync(binary, ['-', '10000'], { encoding: 'utf8' }).trim();
if (Number(check) !== expected) throw new Error(`C rows differ from gen.js: ${check} vs ${expected}`);
const timed = existsSync('/usr/bin/time');

/** Runs the C program; wall ms, and with GNU time its peak RSS (MiB) and CPU ms. */
function run(args) {
  const rssFile = `${binary}.time`;
  const [bin, argv] = timed
    ? ['/usr/bin/time', ['-f', '%M %U %S', '-o', rssFile, binary, ...args]]
    : [binary, args];
  const started = performance.now();
  const result = spawnSync(bin, argv, { stdio: ['ignore', 'ignore', 'inherit'] });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`libxlsxwriter program exited with ${result.status}`);
  if (!timed) return { ms };
  const [rssKb, user, system] = readFileSync(rssFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  rmSync(rssFile, { force: true });
  return { ms, maxRssMB: Math.round((rssKb / 1024) * 10) / 10, cpuMs: Math.round((user + system) * 1000) };
}

// Generation alone, in C: subtracted for the net figures.
const generated = run(['-', String(n)]);
const file = outPath(import.meta.url, 'xlsx');
const startedAt = performance.now();
const written = run([file, String(n)]);
const extra = { generatorMs: Math.round(generated.ms) };
if (timed)
  Object.assign(extra, { maxRssMB: written.maxRssMB, cpuMs: written.cpuMs, generatorCpuMs: generated.cpuMs });
report({
  caseUrl: import.meta.url,
  tool: 'libxlsxwriter',
  format: 'xlsx',
  rows: n,
  startedAt,
  file,
  ...extra,
});
