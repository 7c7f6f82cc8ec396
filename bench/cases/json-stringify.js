// The obvious hand-written peer of a streamed JSON array: `[`, then each row as an object keyed
// by column through JSON.stringify with `,\n` between them, then `]`; joined into ~64 KiB
// strings and streamed to a file (same layout and values as Takeout's).
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { cpuMs, joinedLines, outPath, report, rowCount, rowObject } from '../case-support.js';

const n = rowCount();
const file = outPath(import.meta.url, 'json');
const startedAt = performance.now();
let first = true;
const line = (r) => {
  const text = JSON.stringify(rowObject(r));
  if (first) {
    first = false;
    return `[${text}`;
  }
  return `,\n${text}`;
};
function* document() {
  yield* joinedLines(n, line);
  yield first ? '[]\n' : ']\n';
}
await pipeline(Readable.from(document()), createWriteStream(file));
report({
  cpuMs: cpuMs(),
  caseUrl: import.meta.url,
  tool: 'JSON.stringify',
  format: 'json',
  rows: n,
  startedAt,
  file,
});
