// The obvious hand-written peer: each row as an object keyed by column, JSON.stringify per
// row plus a line break, lines joined into ~64 KiB strings and streamed to a file. Same values
// as Takeout (dates as ISO 8601 strings: JSON.stringify writes them with `.000Z`).
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { cpuMs, joinedLines, outPath, report, rowCount, rowObject } from '../case-support.js';

const n = rowCount();
const file = outPath(import.meta.url, 'ndjson');
const startedAt = performance.now();
const line = (r) => `${JSON.stringify(rowObject(r))}\n`;
await pipeline(Readable.from(joinedLines(n, line)), createWriteStream(file));
report({
  cpuMs: cpuMs(),
  caseUrl: import.meta.url,
  tool: 'JSON.stringify',
  format: 'ndjson',
  rows: n,
  startedAt,
  file,
});
