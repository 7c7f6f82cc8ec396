import { TakeoutError } from '../errors.js';
import type { Decode } from './postgres-binary-values.js';

/**
 * Rows out of the bytes of `COPY ... TO STDOUT (FORMAT binary)`: an 11-byte signature, int32
 * flags and a header extension, then per row an int16 field count and each field as int32
 * length (-1: NULL) and bytes, then the int16 -1 trailer. Values are decoded straight from
 * the chunks as they come. A row split across two chunks is completed in a small joined
 * buffer (its start plus as much of the next chunk as it needs), never by joining whole
 * chunks.
 */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER = 19; // signature, flags, extension length
const STITCH = 4096;

/** A big-endian int32 from typed-array loads: cheaper than readInt32BE's checks, per field. */
export function int32(buf: Buffer, p: number): number {
  return (
    ((buf[p] as number) << 24) |
    ((buf[p + 1] as number) << 16) |
    ((buf[p + 2] as number) << 8) |
    (buf[p + 3] as number)
  );
}

export class BinaryRowDecoder {
  private readonly decoders: Decode[];
  private readonly width: number;
  private carry: Buffer | undefined;
  private headerDone = false;
  private ended = false;

  constructor(decoders: Decode[]) {
    this.decoders = decoders;
    this.width = decoders.length;
  }

  /** The rows completed by `chunk`. */
  decode(chunk: Buffer): unknown[][] {
    const rows: unknown[][] = [];
    let pos = 0;
    const carry = this.carry;
    if (carry) {
      this.carry = undefined;
      let take = Math.min(chunk.length, Math.max(STITCH, carry.length));
      for (;;) {
        const joined = Buffer.concat([carry, chunk.subarray(0, take)]);
        const end = this.parse(joined, 0, carry.length, rows);
        if (end >= carry.length) {
          pos = end - carry.length;
          break;
        }
        if (take === chunk.length) {
          this.carry = joined.subarray(end);
          return rows;
        }
        take = Math.min(chunk.length, take * 4);
      }
    }
    const end = this.parse(chunk, pos, chunk.length, rows);
    if (end < chunk.length) this.carry = chunk.subarray(end);
    return rows;
  }

  /** Checks that the data ended with the trailer and nothing was left over. */
  finish(): void {
    if (!this.ended || this.carry) {
      throw new TakeoutError('source_error', 'The COPY data from PostgreSQL ended early');
    }
  }

  /**
   * Parses whole items (header, rows, trailer) of `buf` from `pos` while they start before
   * `stop`; returns where the first incomplete one starts (or where parsing stopped).
   */
  private parse(buf: Buffer, pos: number, stop: number, rows: unknown[][]): number {
    const end = buf.length;
    const decoders = this.decoders;
    const width = this.width;
    while (pos < stop && !this.ended) {
      if (!this.headerDone) {
        if (end - pos < HEADER) return pos;
        if (buf.compare(SIGNATURE, 0, SIGNATURE.length, pos, pos + SIGNATURE.length) !== 0) {
          throw new TakeoutError('source_error', 'PostgreSQL sent COPY data in an unknown format');
        }
        const extension = buf.readUInt32BE(pos + 15);
        if (end - pos < HEADER + extension) return pos;
        pos += HEADER + extension;
        this.headerDone = true;
        continue;
      }
      if (end - pos < 2) return pos;
      const count = (((buf[pos] as number) << 24) | ((buf[pos + 1] as number) << 16)) >> 16;
      if (count === -1) {
        this.ended = true;
        return pos + 2;
      }
      if (count !== width) {
        throw new TakeoutError('source_error', `COPY sent ${count} columns where ${width} were described`);
      }
      let p = pos + 2;
      const row: unknown[] = new Array(width);
      let c = 0;
      for (; c < width; c++) {
        if (end - p < 4) break;
        const len = int32(buf, p);
        p += 4;
        if (len < 0) {
          row[c] = null;
          continue;
        }
        if (end - p < len) break;
        row[c] = (decoders[c] as Decode)(buf, p, len);
        p += len;
      }
      if (c < width) return pos; // the row goes on in the next chunk
      rows.push(row);
      pos = p;
    }
    return pos;
  }
}
