import type { FormatContext } from '../types.js';

/** A function that turns one value of one column into its text in the output. */
export type CellEncoder = (value: unknown) => string;

/**
 * Compiles `row -> line` for a column set: one function with direct property reads
 * (`r[3]` or `r["name"]`) and string concatenation, so the hot loop does no per-cell
 * lookups or array allocations. Keys enter the code only through JSON.stringify, so no
 * key can inject code. Fast-json-stringify uses the same technique for the same reason.
 */
export function compileRow(
  ctx: Pick<FormatContext, 'columns' | 'rowShape'>,
  cells: readonly CellEncoder[],
  parts: { before: string; between: readonly string[]; after: string },
): (row: unknown) => string {
  const terms: string[] = [JSON.stringify(parts.before)];
  ctx.columns.forEach((column, i) => {
    const read =
      ctx.rowShape === 'array' ? `r[${(column.index ?? i) | 0}]` : `r[${JSON.stringify(column.key)}]`;
    if (i > 0) terms.push(JSON.stringify(parts.between[i - 1] ?? ''));
    terms.push(`c${i}(${read})`);
  });
  terms.push(JSON.stringify(parts.after));
  const names = cells.map((_, i) => `c${i}`);
  const factory = new Function(...names, `return function row(r) { return ${terms.join(' + ')}; };`);
  return factory(...cells) as (row: unknown) => string;
}

/** Characters of output gathered before they are encoded and yielded as one chunk. */
export const CHUNK_CHARS = 64 * 1024;

/**
 * Runs a compiled row function over batches, yielding UTF-8 chunks of about CHUNK_CHARS:
 * many rows are encoded at once, and a huge batch never becomes one huge chunk.
 */
export async function* encodeRows(
  batches: AsyncIterable<readonly unknown[]>,
  row: (r: unknown) => string,
  opts: { prefix?: string; separator?: string; suffix?: string; signal?: AbortSignal | undefined } = {},
): AsyncIterable<Uint8Array> {
  const separator = opts.separator ?? '';
  let out = opts.prefix ?? '';
  let first = true;
  for await (const batch of batches) {
    opts.signal?.throwIfAborted();
    for (let i = 0; i < batch.length; i++) {
      if (first) first = false;
      else if (separator) out += separator;
      out += row(batch[i]);
      if (out.length >= CHUNK_CHARS) {
        yield Buffer.from(out, 'utf8');
        out = '';
      }
    }
  }
  out += opts.suffix ?? '';
  if (out.length > 0) yield Buffer.from(out, 'utf8');
}
