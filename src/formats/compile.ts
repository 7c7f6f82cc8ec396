import type { FormatContext } from '../types.js';

/** A function that turns one value of one column into its text in the output. */
export type CellEncoder = (value: unknown) => string;

/**
 * The code that reads one column's value from row `r` in compiled row functions: `r[3]`
 * for array rows, `r["name"]` for objects. A key that Object.prototype also has
 * (`constructor`, `toString`, `__proto__` ...) is read only when the row has it as its own:
 * a row lacking it must give an empty cell, not a function.
 */
export function readExpression(
  column: { key: string; index?: number },
  i: number,
  rowShape: 'array' | 'object',
): string {
  if (rowShape === 'array') return `r[${(column.index ?? i) | 0}]`;
  const key = JSON.stringify(column.key);
  return column.key in Object.prototype ? `(Object.hasOwn(r, ${key}) ? r[${key}] : undefined)` : `r[${key}]`;
}

/** The value of one column in a row, by the same rule as readExpression (for code that is not compiled). */
export function readCell(
  row: unknown,
  column: { key: string; index?: number },
  i: number,
  rowShape: 'array' | 'object',
): unknown {
  if (rowShape === 'array') return (row as readonly unknown[])[column.index ?? i];
  return Object.hasOwn(row as object, column.key) ? (row as Record<string, unknown>)[column.key] : undefined;
}

/**
 * Compiles `row -> line` for a column set (JSON and NDJSON; CSV writes bytes, csv-fields.ts):
 * one function with direct property reads (`r[3]` or `r["name"]`) and string concatenation,
 * so the hot loop does no per-cell lookups or array allocations. Keys enter the code only
 * through JSON.stringify, so no key can inject code. Fast-json-stringify uses the same
 * technique for the same reason.
 */
export function compileRow(
  ctx: Pick<FormatContext, 'columns' | 'rowShape'>,
  cells: readonly CellEncoder[],
  parts: { before: string; between: readonly string[]; after: string },
): (row: unknown) => string {
  const terms: string[] = [JSON.stringify(parts.before)];
  ctx.columns.forEach((column, i) => {
    const read = readExpression(column, i, ctx.rowShape);
    if (i > 0) terms.push(JSON.stringify(parts.between[i - 1] ?? ''));
    terms.push(`c${i}(${read})`);
  });
  terms.push(JSON.stringify(parts.after));
  const names = cells.map((_, i) => `c${i}`);
  const factory = new Function(...names, `return function row(r) { return ${terms.join(' + ')}; };`);
  return factory(...cells) as (row: unknown) => string;
}

/**
 * Characters of text gathered before they are encoded. Kept small so the text (a rope of
 * many short strings) dies young: rows that outlive a young-generation GC are copied by it.
 */
export const CHUNK_CHARS = 64 * 1024;

/**
 * Bytes gathered before a chunk is yielded. Larger than CHUNK_CHARS because every chunk costs
 * a write downstream (a file write through the thread pool costs ~0.1 ms: 155 MB in 64 KiB
 * chunks takes about 1.5 times as long as in 128 KiB chunks), yet small enough that the few chunks in
 * flight between the writer and a slow consumer stay around a megabyte.
 */
export const CHUNK_BYTES = 128 * 1024;

/** A slow source's rows are still sent this often (ms), checked between batches. */
export const FLUSH_MS = 100;

/**
 * Runs a compiled row function over batches, yielding UTF-8 chunks of about CHUNK_BYTES:
 * many rows are encoded at once, and a huge batch never becomes one huge chunk. When batches
 * arrive slowly, what is ready goes out every FLUSH_MS rather than waiting for a full chunk.
 */
export async function* encodeRows(
  batches: AsyncIterable<readonly unknown[]>,
  row: (r: unknown) => string,
  opts: { prefix?: string; separator?: string; suffix?: string; signal?: AbortSignal | undefined } = {},
): AsyncIterable<Uint8Array> {
  const separator = opts.separator ?? '';
  let text = opts.prefix ?? '';
  let encoded: Buffer[] = [];
  let encodedBytes = 0;
  let lastYield = Date.now();
  const encode = () => {
    const bytes = Buffer.from(text, 'utf8');
    text = '';
    encoded.push(bytes);
    encodedBytes += bytes.byteLength;
  };
  const take = (): Buffer => {
    const chunk = encoded.length === 1 ? encoded[0]! : Buffer.concat(encoded, encodedBytes);
    encoded = [];
    encodedBytes = 0;
    lastYield = Date.now();
    return chunk;
  };
  let first = true;
  for await (const batch of batches) {
    opts.signal?.throwIfAborted();
    for (let i = 0; i < batch.length; i++) {
      if (first) first = false;
      else if (separator) text += separator;
      text += row(batch[i]);
      if (text.length >= CHUNK_CHARS) {
        encode();
        if (encodedBytes >= CHUNK_BYTES) yield take();
      }
    }
    if (Date.now() - lastYield >= FLUSH_MS && (text.length > 0 || encodedBytes > 0)) {
      if (text.length > 0) encode();
      yield take();
    }
  }
  text += opts.suffix ?? '';
  if (text.length > 0) encode();
  if (encodedBytes > 0) yield take();
}
