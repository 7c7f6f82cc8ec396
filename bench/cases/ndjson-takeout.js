// Takeout's NDJSON writer over the reference table, streamed to a file.
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { exportRows } from '../../dist/index.js';
import { COLUMNS, cpuMs, outPath, report, rowCount, rows } from '../case-support.js';

const n = rowCount();
const file = outPath(import.meta.url, 'ndjson');
const startedAt = performance.now();
await pipeline(exportRows(rows(n), { format: 'ndjson', columns: COLUMNS }), createWriteStream(file));
report({
  cpuMs: cpuMs(),
  caseUrl: import.meta.url,
  tool: 'takeout',
  format: 'ndjson',
  rows: n,
  startedAt,
  file,
});
