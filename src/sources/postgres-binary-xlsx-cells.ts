import { compiledFactory } from '../formats/compile.js';
import type { XmlBytes } from '../formats/xlsx/bytes.js';
import type { CellWriter } from '../formats/xlsx/cell.js';
import { ROW_CLOSE, ROW_OPEN, ROW_OPENED } from '../formats/xlsx/sheet.js';
import type { ResolvedColumn } from '../types.js';
import { decodeTimestamp, decodeTimestamptz, timestampMs } from './postgres-binary-datetime.js';
import {
  type Decode,
  decodeBool,
  decodeInt2,
  decodeInt4,
  decodeNumeric,
  decodeText,
  decodeUuid,
  int16,
  int32,
  numericRoom,
  numericSpecial,
  numericText,
  scratchOf,
  uuidText,
} from './postgres-binary-values.js';

/**
 * The XLSX cells of postgres-binary-xlsx.ts: each writes one non-NULL value from its binary
 * COPY bytes through the column's CellWriter (formats/xlsx/cell.ts) exactly as the decoded
 * value would be written, without making a string or Date per value: ASCII text copied as
 * bytes, uuid and numeric text made in a scratch buffer, timestamps as milliseconds. A value
 * these cannot take (non-ASCII or escaped text, a numeric that must stay text, `infinity`) is
 * decoded and handed to the CellWriter's `any`, so the rules stay in one place.
 */

/** Writes one non-NULL field of sheet row `n`; says whether it wrote a cell (as WriteCell). */
export type BinaryCell = (buf: Buffer, pos: number, len: number, n: number, gap: boolean) => boolean;

/** The generic cell: the value decoded, then the column's CellWriter. */
function decodedCell(decode: Decode, cell: CellWriter): BinaryCell {
  const any = cell.any;
  return (buf, pos, len, n, gap) => any(decode(buf, pos, len), n, gap);
}

/**
 * The cell writer of one column from its decoder: a direct one when it writes exactly what
 * the decoded value would, else the decoded path. The CellWriter says for itself which
 * values it takes from bytes (text only in a column that is not numeric, and so on).
 */
export function binaryCell(decode: Decode, cell: CellWriter): BinaryCell {
  const slow = decodedCell(decode, cell);
  if (decode === decodeText) {
    return (buf, pos, len, n, gap) => cell.asciiText(buf, pos, len, n, gap) || slow(buf, pos, len, n, gap);
  }
  if (decode === decodeUuid) {
    return (buf, pos, len, n, gap) => {
      const text = scratchOf(36);
      uuidText(buf, pos, text, 0);
      return cell.asciiText(text, 0, 36, n, gap) || slow(buf, pos, len, n, gap);
    };
  }
  if (decode === decodeNumeric) {
    return (buf, pos, len, n, gap) => {
      if (numericSpecial(buf, pos) !== undefined) return slow(buf, pos, len, n, gap);
      const text = scratchOf(numericRoom(buf, pos));
      const end = numericText(buf, pos, text, 0);
      return cell.plainDecimal(text, 0, end, n, gap) || slow(buf, pos, len, n, gap);
    };
  }
  if (decode === decodeTimestamptz || decode === decodeTimestamp) {
    return (buf, pos, len, n, gap) => {
      const ms = timestampMs(buf, pos);
      return Number.isNaN(ms) ? slow(buf, pos, len, n, gap) : cell.instant(ms, n, gap);
    };
  }
  // Numbers and booleans: the decoded value is a primitive, written by its own writer.
  const number = cell.number;
  if (decode === decodeInt4) return (buf, pos, _len, n, gap) => number(int32(buf, pos), n, gap);
  if (decode === decodeInt2) return (buf, pos, _len, n, gap) => number(int16(buf, pos), n, gap);
  const boolean = cell.boolean;
  if (decode === decodeBool) return (buf, pos, _len, n, gap) => boolean(buf[pos] !== 0, n, gap);
  return slow;
}

/** A batch of COPY rows: row `i`'s field `c` is `lengths[i * width + c]` bytes of `bufs[i]` from `starts[...]`. */
export interface BinaryBatch {
  size: number;
  readonly bufs: Buffer[];
  readonly starts: Int32Array;
  readonly lengths: Int32Array;
}

/**
 * Compiles the writer of row `i` of a BinaryBatch as sheet row `n`: one call per column with
 * its field's position, in the columns' order, as formats/xlsx/sheet.ts compiles it for rows
 * of values (a NULL field, or a column beyond the row, is an empty cell).
 */
export function compileBinaryXlsxRow(
  columns: readonly ResolvedColumn[],
  decoders: readonly Decode[],
  cells: readonly CellWriter[],
  out: XmlBytes,
): (batch: BinaryBatch, i: number, n: number) => void {
  const width = decoders.length;
  const writers: BinaryCell[] = [];
  const statements = columns.map((column, i) => {
    const source = (column.index ?? i) | 0;
    const decode = decoders[source];
    if (decode === undefined) return 'gap = true;';
    writers.push(binaryCell(decode, cells[i] as CellWriter));
    const at = `base + ${source}`;
    return `l = L[${at}]; if (l < 0) gap = true; else gap = !w${writers.length - 1}(b, S[${at}], l, n, gap);`;
  });
  const names = writers.map((_, i) => `w${i}`);
  const factory = compiledFactory<(...args: unknown[]) => (batch: BinaryBatch, i: number, n: number) => void>(
    ['o', 'open', 'opened', 'close', ...names],
    `return function row(batch, i, n) {
const b = batch.bufs[i], S = batch.starts, L = batch.lengths, base = i * ${width};
o.intCell(open, n, opened);
let gap = true, l;
${statements.join('\n')}
o.bytes(close);
};`,
  );
  return factory(out, ROW_OPEN, ROW_OPENED, ROW_CLOSE, ...writers);
}
