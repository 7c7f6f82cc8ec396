import { ByteSink } from '../formats/byte-sink.js';
import { compiledFactory, FLUSH_MS } from '../formats/compile.js';
import { type Dialect, EMPTY_FIELD, writeCsvHead } from '../formats/csv-fields.js';
import { zoneClock } from '../formats/datetime.js';
import type { CsvPassthroughRequest, ResolvedColumn } from '../types.js';
import { binaryCopyChunks, planCopy } from './postgres-binary-copy.js';
import { type BinaryField, binaryField } from './postgres-binary-csv-fields.js';
import { BinaryCopyParser, type RowHandler } from './postgres-binary-rows.js';
import type { Decode } from './postgres-binary-values.js';
import type { Session } from './postgres-session.js';

/** Rows handled between looks at the output: about 40 KiB of CSV on the reference table. */
const SLICE_ROWS = 256;

/**
 * CSV straight from the bytes of the binary COPY, for the plain CSV dialects (the CSV writer's
 * `plainCsv`): the same bytes as decoding the rows and writing them with the CSV writer (a test
 * compares them over every type), without making a string, Date or row array per value.
 * Text that is all ASCII and needs no formula escape is copied byte for byte (quoted when it
 * holds the delimiter, a quote or a line break); uuid, numeric and timestamps are written
 * from their binary form. Any other value, and any value these cannot take (non-ASCII text,
 * `infinity`, a delimiter that a number could contain), is decoded and handed to the CSV
 * writer's own field writer, so the rules stay in one place (formats/csv-fields.ts).
 */

/** The CSV writer's full dialect for a plain one (no locale: the decimal point is `.`). */
export function plainDialect(request: CsvPassthroughRequest): Dialect {
  const { dialect } = request;
  return { ...dialect, decimal: '.', clock: zoneClock(dialect.timezone) };
}

/**
 * Code that writes `bytes` (a separator or line ending, bound as `name`): its bytes stored
 * inline when short, a call to ByteSink#bytes (a loop) costs more per field than the write.
 */
function literal(bytes: Buffer, name: string): string {
  if (bytes.length > 4) return `o.bytes(${name});`;
  const stores = [...bytes].map((c, i) => `t[p + ${i}] = ${c};`).join(' ');
  const n = bytes.length;
  return `{ if (o.pos + ${n} > o.buf.length) o.ensure(${n}); const t = o.buf; const p = o.pos; ${stores} o.pos = p + ${n}; }`;
}

/**
 * Compiles the RowHandler that writes one CSV record per COPY row: one call per column with
 * its field's position (`s[3]`, `l[3]`), in the columns' order. A NULL field and a column
 * beyond the row are empty, as in the CSV writer.
 */
export function compileBinaryCsvRow(
  columns: readonly ResolvedColumn[],
  decoders: readonly Decode[],
  d: Dialect,
  o: ByteSink,
): RowHandler {
  const delimiter = Buffer.from(d.delimiter, 'utf8');
  const lineEnding = Buffer.from(d.lineEnding, 'utf8');
  const writers: BinaryField[] = [];
  const separate = literal(delimiter, 'sep');
  const calls = columns.map((column, i) => {
    const source = (column.index ?? i) | 0;
    const decode = decoders[source];
    const before = i > 0 ? separate : '';
    if (decode === undefined) return before;
    writers.push(binaryField(column, decode, d, o));
    return `${before}if (l[${source}] >= 0) w${writers.length - 1}(b, s[${source}], l[${source}]);`;
  });
  const names = writers.map((_, i) => `w${i}`);
  // As the CSV writer: no columns, no records; one column's empty field is `""`, never a
  // blank line that readers skip (csv-fields.ts, EMPTY_FIELD).
  const fields = calls.join(' ');
  const body =
    columns.length === 0
      ? ''
      : columns.length === 1
        ? `const start = o.written(); ${fields} if (o.written() === start) ${literal(EMPTY_FIELD, 'empty')} ${literal(lineEnding, 'eol')}`
        : `${fields} ${literal(lineEnding, 'eol')}`;
  const factory = compiledFactory<(...args: unknown[]) => RowHandler>(
    ['o', 'sep', 'eol', 'empty', ...names],
    `return function row(b, s, l) { ${body} };`,
  );
  return factory(o, delimiter, lineEnding, EMPTY_FIELD, ...writers);
}

/**
 * The CSV file of `query` in `request.dialect`, written from its binary COPY (the
 * `csvPassthrough` of the default reader). Rows are counted to `request.onRows` before their
 * bytes go out; what is written goes out every ~128 KiB, or every FLUSH_MS when rows come slowly.
 */
export async function* streamBinaryCsv(
  s: Session,
  query: string,
  request: CsvPassthroughRequest,
  timeoutMs: number,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  signal.throwIfAborted();
  const d = plainDialect(request);
  const plan = await planCopy(s, query);
  const sink = new ByteSink();
  writeCsvHead(sink, d, request.columns);
  const parser = new BinaryCopyParser(
    plan.decoders.length,
    compileBinaryCsvRow(request.columns, plan.decoders, d, sink),
  );
  let lastYield = Date.now();
  for await (const parts of binaryCopyChunks(s, plan.statement, timeoutMs, signal)) {
    let rows = 0;
    for (const bytes of parts) {
      rows += parser.push(bytes);
      for (;;) {
        const handled = parser.run(SLICE_ROWS);
        rows += handled;
        if (sink.ready()) {
          request.onRows(rows);
          rows = 0;
          yield* sink.take();
          lastYield = Date.now();
        }
        if (handled < SLICE_ROWS) break;
      }
    }
    if (rows > 0) request.onRows(rows);
    if (sink.pos > 0 && Date.now() - lastYield >= FLUSH_MS) {
      yield* sink.take();
      lastYield = Date.now();
    }
  }
  parser.finish();
  yield* sink.take();
}
