// Takeout's XLSX writer over the reference table, streamed to a file (typed cells, bold frozen
// header with autofilter, estimated widths; default compression level, or
// TAKEOUT_BENCH_XLSX_LEVEL to compare levels).
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { exportRows } from '../../dist/index.js';
import { COLUMNS, cpuMs, outPath, report, rowCount, rows } from '../case-support.js';

const n = rowCount();
const file = outPath(import.meta.url, 'xlsx');
const startedAt = performance.now();
const level = process.env.TAKEOUT_BENCH_XLSX_LEVEL;
const options = { format: 'xlsx', columns: COLUMNS, ...(level ? { compressionLevel: Number(level) } : {}) };
await pipeline(exportRows(rows(n), options), createWriteStream(file));
report({
  cpuMs: cpuMs(),
  caseUrl: import.meta.url,
  tool: 'takeout',
  format: 'xlsx',
  rows: n,
  startedAt,
  file,
  ...(level ? { variant: `level ${level}` } : {}),
});
