// csv-stringify (stream API) over the reference table. Casts make its output match
// Takeout's value rules (ISO dates, true/false) so both write the same information.
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import { COLUMNS, cpuMs, outPath, report, rowCount, rows } from '../case-support.js';

const n = rowCount();
const file = outPath(import.meta.url, 'csv');
const startedAt = performance.now();
await pipeline(
  Readable.from(rows(n)),
  stringify({
    header: true,
    columns: COLUMNS,
    record_delimiter: 'windows',
    cast: { date: (d) => d.toISOString(), boolean: (b) => (b ? 'true' : 'false') },
  }),
  createWriteStream(file),
);
report({
  cpuMs: cpuMs(),
  caseUrl: import.meta.url,
  tool: 'csv-stringify',
  format: 'csv',
  rows: n,
  startedAt,
  file,
});
