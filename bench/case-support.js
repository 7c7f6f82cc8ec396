// Shared by bench/cases/*.js: the protocol every case follows (see bench/README.md).
// A case takes the row count as argv[2], generates rows with the reference generator,
// writes its file under bench/out/ and prints ONE JSON line on stdout.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));

/** `shared/bench/gen.js` beside the checkout, or beside a folder above it (a git worktree). */
function generatorPath() {
  for (let dir = join(here, '..', '..'); ; dir = dirname(dir)) {
    const candidate = join(dir, 'shared', 'bench', 'gen.js');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error('shared/bench/gen.js not found above the checkout');
  }
}

/** The reference table: `rows(n)` yields arrays in `COLUMNS` order. */
export const { rows, COLUMNS } = require(generatorPath());

/** Row count from argv[2] (default 1,000,000), capped at `max` when the tool cannot do more. */
export function rowCount(max = Number.POSITIVE_INFINITY) {
  const asked = Number(process.argv[2] ?? 1_000_000);
  if (!Number.isSafeInteger(asked) || asked < 0) throw new Error(`bad row count: ${process.argv[2]}`);
  return Math.min(asked, max);
}

/** Path of the case's output file under bench/out/. */
export function outPath(caseUrl, extension) {
  const dir = join(here, 'out');
  mkdirSync(dir, { recursive: true });
  return join(dir, `${basename(fileURLToPath(caseUrl), '.js')}.${extension}`);
}

const cpuAtLoad = process.cpuUsage();

/** CPU time (user + system, every thread of this process) since the case started, in ms. */
export function cpuMs() {
  const used = process.cpuUsage(cpuAtLoad);
  return Math.round((used.user + used.system) / 1000);
}

/** Prints the case's one JSON line. `file` is measured for `bytes`. */
export function report({ caseUrl, tool, format, rows: n, startedAt, file, ...extra }) {
  const line = {
    case: basename(fileURLToPath(caseUrl), '.js'),
    tool,
    format,
    rows: n,
    ms: Math.round(performance.now() - startedAt),
    maxRssMB: Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10,
    bytes: file ? statSync(file).size : 0,
    ...extra,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/**
 * A reference row as an object keyed by column (what a hand-written JSON exporter holds):
 * an object literal, the cheapest way V8 builds one.
 */
export function rowObject(r) {
  return {
    id: r[0],
    uuid: r[1],
    name: r[2],
    email: r[3],
    amount: r[4],
    quantity: r[5],
    created_at: r[6],
    active: r[7],
    note: r[8],
    country: r[9],
  };
}
if (Object.keys(rowObject([])).join() !== COLUMNS.join())
  throw new Error('rowObject is out of date with COLUMNS');

/**
 * Yields the lines `line(row)` of the reference rows joined into strings of about 64 KiB, so
 * a hand-written peer pays one stream write per chunk rather than per row (a fair peer).
 */
export function* joinedLines(n, line) {
  let text = '';
  for (const r of rows(n)) {
    text += line(r);
    if (text.length >= 65536) {
      yield text;
      text = '';
    }
  }
  if (text) yield text;
}
