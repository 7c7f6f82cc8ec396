import { TakeoutError } from '../errors.js';
import { type Decode, int32 } from './postgres-binary-values.js';

/**
 * Rows out of the bytes of `COPY ... TO STDOUT (FORMAT binary)`: an 11-byte signature, int32
 * flags and a header extension, then per row an int16 field count and each field as int32
 * length (-1: NULL) and bytes, then the int16 -1 trailer. Rows are handled straight from the
 * chunks as they come. A row split across chunks is kept as pieces until they hold all of it
 * (its length read across them), then joined once, never by joining whole chunks: a row of
 * many megabytes costs one copy, not one per chunk it spans.
 */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER = 19; // signature, flags, extension length

/**
 * Handles one complete row: field `c` is `lengths[c]` bytes of `buf` from `starts[c]`
 * (length -1: NULL). The arrays are reused for the next row.
 */
export type RowHandler = (buf: Buffer, starts: Int32Array, lengths: Int32Array) => void;

/** Walks COPY chunks and hands each complete row to a RowHandler, up to a number at a time. */
export class BinaryCopyParser {
  private readonly width: number;
  private readonly onRow: RowHandler;
  private readonly starts: Int32Array;
  private readonly lengths: Int32Array;
  /** The start of an item (header, row or trailer) that goes on in the next chunks. */
  private carry: Buffer[] = [];
  private carryBytes = 0;
  /** The carried item's length, read as its pieces come (each byte once). */
  private measure: ItemMeasure | undefined;
  /** The chunk run() walks, from `pos`; undefined once used up. */
  private input: Buffer | undefined;
  private pos = 0;
  private headerDone = false;
  private ended = false;

  constructor(width: number, onRow: RowHandler) {
    this.width = width;
    this.onRow = onRow;
    this.starts = new Int32Array(width);
    this.lengths = new Int32Array(width);
  }

  /**
   * Starts on the next chunk; the previous one must be used up (run() handled fewer rows than
   * it was allowed). Only the row split across the boundary is handled here; returns 1 when
   * there was one, else 0.
   */
  push(chunk: Buffer): number {
    if (this.input) throw new Error('BinaryCopyParser: the previous chunk is not used up');
    let pos = 0;
    let handled = 0;
    if (this.carryBytes > 0) {
      const length = (this.measure as ItemMeasure).feed(chunk);
      if (length < 0) {
        this.carry.push(chunk); // still incomplete: nothing joined yet
        this.carryBytes += chunk.length;
        return 0;
      }
      pos = length - this.carryBytes; // the item's bytes in this chunk
      const item = Buffer.concat([...this.carry, chunk.subarray(0, pos)]);
      this.carry = [];
      this.carryBytes = 0;
      this.measure = undefined;
      const count = { rows: 0 };
      this.parse(item, 0, item.length, 1, count);
      handled = count.rows;
    }
    this.input = chunk;
    this.pos = pos;
    return handled;
  }

  /** Handles up to `max` more rows of the chunk pushed last; returns how many (0 once used up). */
  run(max: number): number {
    const input = this.input;
    if (!input) return 0;
    const count = { rows: 0 };
    const end = this.parse(input, this.pos, input.length, max, count);
    if (count.rows >= max && end < input.length && !this.ended) {
      this.pos = end;
      return count.rows;
    }
    // Used up: what is left is the start of an item that goes on in the next chunk.
    this.input = undefined;
    if (end < input.length) {
      this.carry = [input.subarray(end)];
      this.carryBytes = input.length - end;
      this.measure = new ItemMeasure(this.headerDone);
      this.measure.feed(this.carry[0] as Buffer);
    }
    return count.rows;
  }

  /** Checks that the data ended with the trailer and nothing was left over. */
  finish(): void {
    if (!this.ended || this.carryBytes > 0 || this.input) {
      throw new TakeoutError('source_error', 'The COPY data from PostgreSQL ended early');
    }
  }

  /**
   * Parses whole items (header, rows, trailer) of `buf` from `pos` while they start before
   * `stop` and fewer than `max` rows were handled (counted in `count`); returns where the
   * first incomplete one starts (or where parsing stopped).
   */
  private parse(buf: Buffer, pos: number, stop: number, max: number, count: { rows: number }): number {
    const end = buf.length;
    const width = this.width;
    const starts = this.starts;
    const lengths = this.lengths;
    let rows = 0;
    while (pos < stop && !this.ended && rows < max) {
      if (!this.headerDone) {
        if (end - pos < HEADER) break;
        if (buf.compare(SIGNATURE, 0, SIGNATURE.length, pos, pos + SIGNATURE.length) !== 0) {
          throw new TakeoutError('source_error', 'PostgreSQL sent COPY data in an unknown format');
        }
        const extension = buf.readUInt32BE(pos + 15);
        if (end - pos < HEADER + extension) break;
        pos += HEADER + extension;
        this.headerDone = true;
        continue;
      }
      if (end - pos < 2) break;
      const fields = (((buf[pos] as number) << 24) | ((buf[pos + 1] as number) << 16)) >> 16;
      if (fields === -1) {
        this.ended = true;
        pos += 2;
        break;
      }
      if (fields !== width) {
        throw new TakeoutError('source_error', `COPY sent ${fields} columns where ${width} were described`);
      }
      let p = pos + 2;
      let c = 0;
      for (; c < width; c++) {
        if (end - p < 4) break;
        const len = int32(buf, p);
        p += 4;
        starts[c] = p;
        lengths[c] = len;
        if (len < 0) continue;
        if (end - p < len) break;
        p += len;
      }
      if (c < width) break; // the row goes on in the next chunk
      this.onRow(buf, starts, lengths);
      rows++;
      pos = p;
    }
    count.rows = rows;
    return pos;
  }
}

/**
 * The length of an item (the file header when `headerDone` is false, else a row or the
 * trailer) whose bytes come piece by piece: `feed` looks at each byte once (lengths are read,
 * values skipped), so a row spanning thousands of chunks costs no rescans.
 */
export class ItemMeasure {
  /** Bytes of the item fed so far. */
  private seen = 0;
  /** Bytes to pass before the next number. */
  private skip = 0;
  /** Size of the next number (2 or 4 bytes); 0 once none is left to read. */
  private want: number;
  private got = 0;
  private value = 0;
  private readonly header: boolean;
  /** Fields of the row left to read; -1 until its field count is read. */
  private fields = -1;

  constructor(headerDone: boolean) {
    this.header = !headerDone;
    // The header: signature, flags, then the extension's length; a row: its field count.
    this.skip = this.header ? 15 : 0;
    this.want = this.header ? 4 : 2;
  }

  /** Takes the next piece; the item's whole length once known, else -1. */
  feed(piece: Buffer): number {
    let i = 0;
    for (;;) {
      if (this.skip > 0) {
        const step = Math.min(this.skip, piece.length - i);
        this.skip -= step;
        this.seen += step;
        i += step;
        if (this.skip > 0) return -1;
      }
      if (this.want === 0) return this.seen;
      while (this.got < this.want) {
        if (i >= piece.length) return -1;
        this.value = this.value * 256 + (piece[i++] as number);
        this.got++;
        this.seen++;
      }
      this.number(this.value);
      this.value = 0;
      this.got = 0;
    }
  }

  private number(v: number): void {
    if (this.header) {
      this.skip = v; // the extension
      this.want = 0;
    } else if (this.fields < 0) {
      this.fields = v === 0xffff ? 0 : v; // 0xffff: the trailer, nothing follows
      this.want = this.fields > 0 ? 4 : 0;
    } else {
      if (v < 0x80000000) this.skip = v; // a negative length (-1: NULL) has no bytes, as in parse
      this.fields--;
      this.want = this.fields > 0 ? 4 : 0;
    }
  }
}

/** Rows as arrays of values, decoded by each column's Decode, handed out in batches. */
export class BinaryRowDecoder {
  private readonly parser: BinaryCopyParser;
  private out: unknown[][] = [];

  constructor(decoders: readonly Decode[]) {
    const width = decoders.length;
    this.parser = new BinaryCopyParser(width, (buf, starts, lengths) => {
      const row: unknown[] = new Array(width);
      for (let c = 0; c < width; c++) {
        const len = lengths[c] as number;
        row[c] = len < 0 ? null : (decoders[c] as Decode)(buf, starts[c] as number, len);
      }
      this.out.push(row);
    });
  }

  /** All the rows completed by `chunk`. */
  decode(chunk: Buffer): unknown[][] {
    this.push(chunk);
    return this.take(Number.POSITIVE_INFINITY);
  }

  /** Starts on the next chunk; the previous one must be used up (take() returned no rows). */
  push(chunk: Buffer): void {
    this.parser.push(chunk);
  }

  /**
   * Up to `max` more rows, in order; none once the chunk is used up. Rows handed out in small
   * batches are written before the next are made, so few of them outlive a young-generation
   * GC (decoding a whole 256 KiB chunk at once kept ~2000 rows alive).
   */
  take(max: number): unknown[][] {
    const have = this.out.length;
    if (have < max) this.parser.run(max - have);
    const rows = this.out;
    this.out = [];
    return rows;
  }

  /** Checks that the data ended with the trailer and nothing was left over. */
  finish(): void {
    this.parser.finish();
  }
}
