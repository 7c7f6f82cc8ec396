// PostgreSQL -> CSV through Takeout's COPY fast path (`copy: true`): COPY (query) TO STDOUT
// streamed into the file, with the same dialect as psql's \copy (LF, no formula escaping) so
// both do the same work. Set TAKEOUT_BENCH_COPY_DEFAULTS=1 for Takeout's defaults instead
// (CRLF record ends, formula escaping of text columns done in SQL).
// The reference table is loaded once into the takeout_bench database (not timed).
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { exportSource } from '../../dist/index.js';
import { postgresSource } from '../../dist/sources/postgres.js';
import { outPath, report, rowCount } from '../case-support.js';
import { BENCH_URL, ensureTable } from '../postgres-support.js';

const n = rowCount();
const table = await ensureTable(n);
const defaults = process.env.TAKEOUT_BENCH_COPY_DEFAULTS === '1';
const file = outPath(import.meta.url, 'csv');
const startedAt = performance.now();
const source = postgresSource({ connectionString: BENCH_URL, sql: `SELECT * FROM ${table}`, copy: true });
const options = defaults ? { format: 'csv' } : { format: 'csv', lineEnding: '\n', escapeFormulas: false };
await pipeline(exportSource(source, options), createWriteStream(file));
report({
  caseUrl: import.meta.url,
  tool: 'takeout',
  format: 'csv',
  rows: n,
  startedAt,
  file,
  ...(defaults ? { variant: 'defaults' } : {}),
});
