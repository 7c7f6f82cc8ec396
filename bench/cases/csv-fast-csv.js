// @fast-csv/format over the reference table. The transform writes dates as ISO 8601
// (fast-csv would use Date#toString) so its output matches Takeout's value rules.
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { format } from '@fast-csv/format';
import { COLUMNS, cpuMs, outPath, report, rowCount, rows } from '../case-support.js';

const n = rowCount();
const file = outPath(import.meta.url, 'csv');
const startedAt = performance.now();
await pipeline(
  Readable.from(rows(n)),
  format({
    headers: COLUMNS,
    rowDelimiter: '\r\n',
    includeEndRowDelimiter: true,
    transform: (row) => {
      row[6] = row[6].toISOString();
      return row;
    },
  }),
  createWriteStream(file),
);
report({
  cpuMs: cpuMs(),
  caseUrl: import.meta.url,
  tool: 'fast-csv',
  format: 'csv',
  rows: n,
  startedAt,
  file,
});
