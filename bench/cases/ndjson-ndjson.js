// The `ndjson` package's serializer (ndjson.stringify(): an object-mode transform writing
// json-stringify-safe(row) + EOL) over the reference rows as objects keyed by column.
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import ndjson from 'ndjson';
import { cpuMs, outPath, report, rowCount, rowObject, rows } from '../case-support.js';

const n = rowCount();
const file = outPath(import.meta.url, 'ndjson');
const startedAt = performance.now();
function* objects() {
  for (const r of rows(n)) yield rowObject(r);
}
await pipeline(Readable.from(objects()), ndjson.stringify(), createWriteStream(file));
report({
  cpuMs: cpuMs(),
  caseUrl: import.meta.url,
  tool: 'ndjson',
  format: 'ndjson',
  rows: n,
  startedAt,
  file,
});
