import { ByteSink } from '../formats/byte-sink.js';
import { writeDateTime } from '../formats/byte-values.js';
import { FLUSH_MS } from '../formats/compile.js';
import { type Dialect, fieldWriter, writeCsvHead } from '../formats/csv-fields.js';
import { zoneClock } from '../formats/datetime.js';
import { plainLead } from '../formats/formula.js';
import type { CsvPassthroughRequest, ResolvedColumn } from '../types.js';
import { binaryCopyChunks, planCopy } from './postgres-binary-copy.js';
import { decodeTimestamp, decodeTimestamptz, timestampMs } from './postgres-binary-datetime.js';
import { BinaryCopyParser, type RowHandler } from './postgres-binary-rows.js';
import {
  type Decode,
  decodeNumeric,
  decodeText,
  decodeUuid,
  numericRoom,
  numericSpecial,
  numericText,
} from './postgres-binary-values.js';
import type { Session } from './postgres-session.js';

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

/** Writes one non-NULL field from its bytes. */
type BinaryField = (buf: Buffer, pos: number, len: number) => void;

/** Rows handled between looks at the output: about 40 KiB of CSV on the reference table. */
const SLICE_ROWS = 256;
const QUOTE = 34;
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/** The CSV writer's full dialect for a plain one (no locale: the decimal point is `.`). */
export function plainDialect(request: CsvPassthroughRequest): Dialect {
  const { dialect } = request;
  return { ...dialect, decimal: '.', clock: zoneClock(dialect.timezone) };
}

/** The generic field: the value decoded, then the CSV writer's field writer. */
function decodedField(decode: Decode, column: ResolvedColumn, d: Dialect, o: ByteSink): BinaryField {
  const write = fieldWriter(column, d, o);
  return (buf, pos, len) => write(decode(buf, pos, len));
}

/** ASCII text copied as bytes; anything else goes to `slow`. */
function textField(d: Dialect, o: ByteSink, slow: BinaryField): BinaryField {
  // 1: the field needs quotes; 2: not ASCII, so the decoded path.
  const special = new Uint8Array(256);
  special.fill(2, 0x80);
  special[QUOTE] = 1;
  special[10] = 1;
  special[13] = 1;
  const delimiter = d.delimiter.charCodeAt(0);
  if (delimiter < 0x80) special[delimiter] = 1;
  const escapeFormulas = d.escapeFormulas;
  const quoted = (buf: Buffer, pos: number, len: number): void => {
    const b = o.buf;
    let p = o.pos;
    b[p++] = QUOTE;
    for (let i = pos, end = pos + len; i < end; i++) {
      const c = buf[i] as number;
      if (c >= 0x80) {
        slow(buf, pos, len);
        return;
      }
      if (c === QUOTE) b[p++] = QUOTE;
      b[p++] = c;
    }
    b[p++] = QUOTE;
    o.pos = p;
  };
  return (buf, pos, len) => {
    if (len === 0) return;
    if (escapeFormulas && !plainLead(buf[pos] as number)) {
      slow(buf, pos, len);
      return;
    }
    o.ensure(2 * len + 2);
    const b = o.buf;
    let p = o.pos;
    for (let i = pos, end = pos + len; i < end; i++) {
      const c = buf[i] as number;
      const k = special[c] as number;
      if (k !== 0) {
        if (k === 1) quoted(buf, pos, len);
        else slow(buf, pos, len);
        return;
      }
      b[p++] = c;
    }
    o.pos = p;
  };
}

/** uuid: 16 bytes as lowercase hex with dashes. */
function uuidField(o: ByteSink): BinaryField {
  return (buf, pos) => {
    o.ensure(36);
    const b = o.buf;
    let p = o.pos;
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) b[p++] = 0x2d;
      const x = buf[pos + i] as number;
      b[p++] = HEX[x >> 4] as number;
      b[p++] = HEX[x & 15] as number;
    }
    o.pos = p;
  };
}

/** numeric: its digits as numeric_out writes them; NaN and infinities decoded. */
function numericField(o: ByteSink, slow: BinaryField): BinaryField {
  return (buf, pos, len) => {
    if (numericSpecial(buf, pos) !== undefined) {
      slow(buf, pos, len);
      return;
    }
    o.ensure(numericRoom(buf, pos));
    o.pos = numericText(buf, pos, o.buf, o.pos);
  };
}

/** timestamp(tz): the instant as the CSV writer writes a Date; `infinity` and the like decoded. */
function timestampField(d: Dialect, o: ByteSink, slow: BinaryField): BinaryField {
  const clock = d.clock;
  return (buf, pos, len) => {
    const ms = timestampMs(buf, pos);
    if (Number.isNaN(ms)) slow(buf, pos, len);
    else writeDateTime(o, ms, clock);
  };
}

/**
 * The writer of one column's fields: a direct one when it gives exactly the bytes of the
 * decoded path for this column type and dialect, else the decoded path.
 */
function binaryField(column: ResolvedColumn, decode: Decode, d: Dialect, o: ByteSink): BinaryField {
  const slow = decodedField(decode, column, d, o);
  const delimiter = d.delimiter;
  // Characters of these values: a delimiter among them would need quotes (the slow path's job).
  const bare = (chars: string) => !chars.includes(delimiter);
  if (decode === decodeText && column.type === 'string') return textField(d, o, slow);
  if (decode === decodeUuid && column.type === 'string' && bare('0123456789abcdef-')) return uuidField(o);
  if (decode === decodeNumeric && column.type === 'decimal' && bare('0123456789.-'))
    return numericField(o, slow);
  if (
    (decode === decodeTimestamptz || decode === decodeTimestamp) &&
    column.type === 'datetime' &&
    bare('0123456789-+:.TZ')
  )
    return timestampField(d, o, slow);
  return slow;
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
  const calls = columns.map((column, i) => {
    const source = (column.index ?? i) | 0;
    const separate = i > 0 ? 'o.bytes(sep); ' : '';
    const decode = decoders[source];
    if (decode === undefined) return separate;
    writers.push(binaryField(column, decode, d, o));
    return `${separate}if (l[${source}] >= 0) w${writers.length - 1}(b, s[${source}], l[${source}]);`;
  });
  const names = writers.map((_, i) => `w${i}`);
  const factory = new Function(
    'o',
    'sep',
    'eol',
    ...names,
    `return function row(b, s, l) { ${calls.join(' ')} o.bytes(eol); };`,
  );
  return factory(o, delimiter, lineEnding, ...writers) as RowHandler;
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
