// Shared by bench/cases/*.js: the protocol every case follows (see bench/README.md).
// A case takes the row count as argv[2], generates rows with the reference generator,
// writes its file under bench/out/ and prints ONE JSON line on stdout.
import { mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));

/** The reference table: `rows(n)` yields arrays in `COLUMNS` order. */
export const { rows, COLUMNS } = require('../../shared/bench/gen.js');

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
