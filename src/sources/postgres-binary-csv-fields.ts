import { type ByteSink, writeInteger } from '../formats/byte-sink.js';
import { writeDateTime } from '../formats/byte-values.js';
import { type Dialect, fieldWriter } from '../formats/csv-fields.js';
import { plainLead } from '../formats/formula.js';
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
} from './postgres-binary-values.js';

/**
 * The CSV field writers of postgres-binary-csv.ts: each writes one non-NULL value from its
 * binary COPY bytes exactly as the CSV writer writes the decoded value, or hands the value
 * to `slow` (decoded, then the CSV writer's own field writer) when it cannot.
 */

/** Writes one non-NULL field from its bytes. */
export type BinaryField = (buf: Buffer, pos: number, len: number) => void;

const QUOTE = 34;
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const HEX = Buffer.from('0123456789abcdef', 'latin1');
/** Where each of a uuid's 16 bytes goes in its 36-character text. */
const UUID_AT = Uint8Array.from([0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34]);

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
  // 1: a first byte that may start a formula (formula.ts decides; one table read per field).
  const lead = new Uint8Array(256);
  if (d.escapeFormulas) for (let c = 0; c < 256; c++) lead[c] = plainLead(c) ? 0 : 1;
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
    if (lead[buf[pos] as number] !== 0) {
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
  // Byte i of the 16 goes to text position AT[i] (the dashes in between are fixed); a loop
  // with the dash tests in it cost more per value.
  return (buf, pos) => {
    o.ensure(36);
    const b = o.buf;
    const p = o.pos;
    b[p + 8] = 0x2d;
    b[p + 13] = 0x2d;
    b[p + 18] = 0x2d;
    b[p + 23] = 0x2d;
    for (let i = 0; i < 16; i++) {
      const x = buf[pos + i] as number;
      const at = p + (UUID_AT[i] as number);
      b[at] = HEX[x >> 4] as number;
      b[at + 1] = HEX[x & 15] as number;
    }
    o.pos = p + 36;
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

/** int2/int4: the digits, as the CSV writer writes a number (no delimiter among them). */
function integerField(o: ByteSink, bytes: 2 | 4): BinaryField {
  if (bytes === 2) return (buf, pos) => writeInteger(o, int16(buf, pos));
  return (buf, pos) => writeInteger(o, int32(buf, pos));
}

/** bool: `true` or `false`, as the CSV writer writes a boolean. */
function booleanField(o: ByteSink): BinaryField {
  return (buf, pos) => o.bytes(buf[pos] !== 0 ? TRUE : FALSE);
}

/**
 * The writer of one column's fields: a direct one when it gives exactly the bytes of the
 * decoded path for this column type and dialect, else the decoded path.
 */
export function binaryField(column: ResolvedColumn, decode: Decode, d: Dialect, o: ByteSink): BinaryField {
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
  // Numbers and booleans are written whatever the column's type (csv-fields.ts fieldWriter).
  if ((decode === decodeInt4 || decode === decodeInt2) && bare('0123456789-'))
    return integerField(o, decode === decodeInt4 ? 4 : 2);
  if (decode === decodeBool && bare('truefals')) return booleanField(o);
  return slow;
}
