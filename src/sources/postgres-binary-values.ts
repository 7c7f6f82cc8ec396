/**
 * Decoders of PostgreSQL's binary send format for the scalar types, each reading one value
 * straight from a COPY chunk (`buf`, `pos`, `len`: the value's bytes) into the same
 * JavaScript value the cursor path's text parsers make (postgres-types.ts), so both paths
 * write identical files. No Buffer slices; strings are made once, from the bytes.
 */
import { jsonDocument } from '../raw-json.js';
import { shortestFloat4 } from './postgres-binary-float4.js';

export type Decode = (buf: Buffer, pos: number, len: number) => unknown;

/*
 * Big-endian integers from typed-array loads. Buffer#readUInt16BE and the like cost a
 * LoadIC call per read in the optimized code here (the method is not inlined for these
 * buffers), plus their argument checks: on the reference table ~2,000 instructions per row
 * (callgrind). Callers read only inside a field the COPY parser has bounded.
 */
export function int32(buf: Buffer, p: number): number {
  return (
    ((buf[p] as number) << 24) |
    ((buf[p + 1] as number) << 16) |
    ((buf[p + 2] as number) << 8) |
    (buf[p + 3] as number)
  );
}

export function uint32(buf: Buffer, p: number): number {
  return int32(buf, p) >>> 0;
}

export function uint16(buf: Buffer, p: number): number {
  return ((buf[p] as number) << 8) | (buf[p + 1] as number);
}

export function int16(buf: Buffer, p: number): number {
  return (((buf[p] as number) << 24) | ((buf[p + 1] as number) << 16)) >> 16;
}

/** Node's Buffer methods behind `toString`, without its argument checks. */
interface FastSlices {
  utf8Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
}

export function utf8(buf: Buffer, start: number, end: number): string {
  return (buf as unknown as FastSlices).utf8Slice(start, end);
}

/** A scratch buffer for ASCII text built byte by byte (uuid, numeric, time ...). */
let scratch = Buffer.allocUnsafe(512);

export function scratchOf(size: number): Buffer {
  if (scratch.length < size) scratch = Buffer.allocUnsafe(Math.max(size, scratch.length * 2));
  return scratch;
}

export function ascii(buf: Buffer, end: number): string {
  return (buf as unknown as FastSlices).latin1Slice(0, end);
}

export const decodeText: Decode = (buf, pos, len) => utf8(buf, pos, pos + len);
export const decodeBool: Decode = (buf, pos) => buf[pos] !== 0;
export const decodeInt2: Decode = (buf, pos) =>
  (((buf[pos] as number) << 24) | ((buf[pos + 1] as number) << 16)) >> 16;
export const decodeInt4: Decode = (buf, pos) =>
  ((buf[pos] as number) << 24) |
  ((buf[pos + 1] as number) << 16) |
  ((buf[pos + 2] as number) << 8) |
  (buf[pos + 3] as number);
export const decodeOid: Decode = (buf, pos) => buf.readUInt32BE(pos);
export const decodeFloat8: Decode = (buf, pos) => buf.readDoubleBE(pos);

/** int8: a number when it is a safe integer, else a bigint (as parseInt8 does). */
export const decodeInt8: Decode = (buf, pos) => {
  const n = int32(buf, pos) * 4294967296 + uint32(buf, pos + 4);
  // Exact whenever it passes the test: beyond 2^53 the sum may round, but then it fails.
  return n >= -Number.MAX_SAFE_INTEGER && n <= Number.MAX_SAFE_INTEGER ? n : buf.readBigInt64BE(pos);
};

/** float4: the number the cursor path reads from PostgreSQL's shortest float4 text. */
export const decodeFloat4: Decode = (buf, pos) => shortestFloat4(buf.readFloatBE(pos));

/** bytea: a Buffer of its own (the chunk is reused). */
export const decodeBytea: Decode = (buf, pos, len) => Buffer.copyBytesFrom(buf, pos, len);

/** json: the document's text as it was stored (PostgreSQL has checked it). */
export const decodeJson: Decode = (buf, pos, len) => jsonDocument(utf8(buf, pos, pos + len), true);
/** jsonb: a version byte (1), then the document's text. */
export const decodeJsonb: Decode = (buf, pos, len) => jsonDocument(utf8(buf, pos + 1, pos + len), true);

const HEX = Buffer.from('0123456789abcdef', 'latin1');

/** Writes a uuid's 16 bytes as its 36 characters of text (`xxxxxxxx-xxxx-...`) into `out` from `o`. */
export function uuidText(buf: Buffer, pos: number, out: Uint8Array, o: number): void {
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) out[o++] = 0x2d;
    const b = buf[pos + i] as number;
    out[o++] = HEX[b >> 4] as number;
    out[o++] = HEX[b & 15] as number;
  }
}

/** uuid: 16 bytes -> `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, one string made from the bytes. */
export const decodeUuid: Decode = (buf, pos) => {
  const out = scratchOf(36);
  uuidText(buf, pos, out, 0);
  return ascii(out, 36);
};

const NUMERIC_NAN = 0xc000;
const NUMERIC_PINF = 0xd000;
const NUMERIC_NINF = 0xf000;
const NUMERIC_NEG = 0x4000;

/** Whether a numeric's sign word marks NaN or an infinity (no digits to write). */
export function numericSpecial(buf: Buffer, pos: number): string | undefined {
  const sign = uint16(buf, pos + 4);
  if (sign === NUMERIC_NAN) return 'NaN';
  if (sign === NUMERIC_PINF) return 'Infinity';
  if (sign === NUMERIC_NINF) return '-Infinity';
  return undefined;
}

/** Bytes numericText may write for the numeric at `pos` (an upper bound). */
export function numericRoom(buf: Buffer, pos: number): number {
  return Math.max(int16(buf, pos + 2) + 1, 1) * 4 + uint16(buf, pos + 6) + 8;
}

/**
 * Writes the text PostgreSQL's numeric_out writes (get_str_from_var) for a finite numeric
 * into `out` from `o` (numericRoom bytes free) and returns where it ends: base-10000 digits,
 * `weight` groups before the point, exactly `dscale` digits after it.
 */
export function numericText(buf: Buffer, pos: number, out: Uint8Array, o: number): number {
  const ndigits = uint16(buf, pos);
  const weight = int16(buf, pos + 2);
  const sign = uint16(buf, pos + 4);
  const dscale = uint16(buf, pos + 6);
  const digit = (d: number): number => (d >= 0 && d < ndigits ? uint16(buf, pos + 8 + 2 * d) : 0);
  if (sign === NUMERIC_NEG) out[o++] = 0x2d;
  let d: number;
  if (weight < 0) {
    d = weight + 1;
    out[o++] = 0x30;
  } else {
    for (d = 0; d <= weight; d++) {
      const dig = digit(d);
      if (d === 0) {
        // The first group without leading zeros.
        if (dig >= 1000) out[o++] = 0x30 + ((dig / 1000) | 0);
        if (dig >= 100) out[o++] = 0x30 + (((dig / 100) | 0) % 10);
        if (dig >= 10) out[o++] = 0x30 + (((dig / 10) | 0) % 10);
        out[o++] = 0x30 + (dig % 10);
      } else o = group(out, o, dig);
    }
  }
  if (dscale > 0) {
    out[o++] = 0x2e;
    const end = o + dscale;
    for (let i = 0; i < dscale; d++, i += 4) o = group(out, o, digit(d));
    o = end;
  }
  return o;
}

/** numeric: its text (numericText), or `NaN`, `Infinity`, `-Infinity`. */
export const decodeNumeric: Decode = (buf, pos) => {
  const special = numericSpecial(buf, pos);
  if (special !== undefined) return special;
  const out = scratchOf(numericRoom(buf, pos));
  return ascii(out, numericText(buf, pos, out, 0));
};

/** Four decimal digits of a base-10000 digit, zero-padded. */
function group(out: Uint8Array, o: number, dig: number): number {
  out[o] = 0x30 + ((dig / 1000) | 0);
  out[o + 1] = 0x30 + (((dig / 100) | 0) % 10);
  out[o + 2] = 0x30 + (((dig / 10) | 0) % 10);
  out[o + 3] = 0x30 + (dig % 10);
  return o + 4;
}
