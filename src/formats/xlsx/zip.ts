import { promisify } from 'node:util';
import zlib from 'node:zlib';

/**
 * A streaming ZIP writer for the XLSX container, on node:zlib.
 *
 * Why not a library: the only ZIP writer installed (archiver's compress-commons, via exceljs)
 * decides ZIP64 from a size known before the entry, or for the whole archive at once, so a
 * streamed entry that passes 4 GiB gets 4-byte sizes and a corrupt file. We need ZIP64 chosen per
 * entry up front, only for entries that may pass 4 GiB, in the layout Excel opens: version 45 in
 * the local header with no ZIP64 extra there, a data descriptor with 8-byte sizes, and the ZIP64
 * extra in the central directory. We also want deflate off the main thread (see EntryStream).
 */

const deflateRawAsync = promisify(zlib.deflateRaw);

const LOCAL_HEADER = 0x04034b50;
const DATA_DESCRIPTOR = 0x08074b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL = 0x06054b50;
const ZIP64_END_OF_CENTRAL = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EXTRA_ID = 0x0001;
const MAX_32 = 0xffffffff;
const MAX_16 = 0xffff;
const VERSION_DEFLATE = 20;
const VERSION_ZIP64 = 45;
const FLAG_DESCRIPTOR = 0x0008;
const FLAG_UTF8 = 0x0800;
const METHOD_DEFLATE = 8;
/** 1980-01-01 00:00, the DOS epoch: a fixed time makes the same rows give the same bytes. */
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
/** A final, empty fixed-Huffman block: ends a deflate stream built of sync-flushed chunks. */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);
/** Deflate's window: each chunk is primed with this much of the previous one. */
const WINDOW = 32 * 1024;

/** What the central directory needs to know about one written entry. */
export interface CentralRecord {
  name: Buffer;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  offset: number;
  /** Sizes live in the ZIP64 extra (the entry was written as ZIP64). */
  zip64: boolean;
}

function nameBytes(name: string): { bytes: Buffer; utf8: boolean } {
  const bytes = Buffer.from(name, 'utf8');
  return { bytes, utf8: bytes.length !== name.length };
}

function writeU64(buf: Buffer, value: number, at: number): void {
  buf.writeBigUInt64LE(BigInt(value), at);
}

/** Local file header. Streamed entries (descriptor) carry zero CRC and sizes, and no extra field. */
export function localHeader(
  name: Buffer,
  flags: number,
  zip64: boolean,
  known?: { crc: number; compressedSize: number; size: number },
): Buffer {
  const buf = Buffer.alloc(30 + name.length);
  buf.writeUInt32LE(LOCAL_HEADER, 0);
  buf.writeUInt16LE(zip64 ? VERSION_ZIP64 : VERSION_DEFLATE, 4);
  buf.writeUInt16LE(flags, 6);
  buf.writeUInt16LE(METHOD_DEFLATE, 8);
  buf.writeUInt16LE(DOS_TIME, 10);
  buf.writeUInt16LE(DOS_DATE, 12);
  buf.writeUInt32LE(known?.crc ?? 0, 14);
  buf.writeUInt32LE(known?.compressedSize ?? 0, 18);
  buf.writeUInt32LE(known?.size ?? 0, 22);
  buf.writeUInt16LE(name.length, 26);
  buf.writeUInt16LE(0, 28);
  name.copy(buf, 30);
  return buf;
}

/** Data descriptor after a streamed entry: 8-byte sizes for ZIP64 entries, else 4-byte. */
export function dataDescriptor(crc: number, compressedSize: number, size: number, zip64: boolean): Buffer {
  const buf = Buffer.alloc(zip64 ? 24 : 16);
  buf.writeUInt32LE(DATA_DESCRIPTOR, 0);
  buf.writeUInt32LE(crc, 4);
  if (zip64) {
    writeU64(buf, compressedSize, 8);
    writeU64(buf, size, 16);
  } else {
    buf.writeUInt32LE(compressedSize, 8);
    buf.writeUInt32LE(size, 12);
  }
  return buf;
}

/**
 * Central directory header. A ZIP64 entry puts both sizes in the ZIP64 extra (0xFFFFFFFF in
 * the fixed fields); any entry whose local header starts past 4 GiB puts its offset there too.
 */
export function centralHeader(entry: CentralRecord): Buffer {
  const bigOffset = entry.offset >= MAX_32;
  const extraFields = (entry.zip64 ? 2 : 0) + (bigOffset ? 1 : 0);
  const extraLength = extraFields > 0 ? 4 + 8 * extraFields : 0;
  const needs64 = entry.zip64 || bigOffset;
  const buf = Buffer.alloc(46 + entry.name.length + extraLength);
  buf.writeUInt32LE(CENTRAL_HEADER, 0);
  buf.writeUInt16LE(needs64 ? VERSION_ZIP64 : VERSION_DEFLATE, 4); // made by (MS-DOS host)
  buf.writeUInt16LE(needs64 ? VERSION_ZIP64 : VERSION_DEFLATE, 6); // needed to extract
  buf.writeUInt16LE(entry.flags, 8);
  buf.writeUInt16LE(METHOD_DEFLATE, 10);
  buf.writeUInt16LE(DOS_TIME, 12);
  buf.writeUInt16LE(DOS_DATE, 14);
  buf.writeUInt32LE(entry.crc, 16);
  buf.writeUInt32LE(entry.zip64 ? MAX_32 : entry.compressedSize, 20);
  buf.writeUInt32LE(entry.zip64 ? MAX_32 : entry.size, 24);
  buf.writeUInt16LE(entry.name.length, 28);
  buf.writeUInt16LE(extraLength, 30);
  // comment length, disk number start, internal and external attributes stay 0
  buf.writeUInt32LE(bigOffset ? MAX_32 : entry.offset, 42);
  entry.name.copy(buf, 46);
  if (extraLength > 0) {
    let at = 46 + entry.name.length;
    buf.writeUInt16LE(ZIP64_EXTRA_ID, at);
    buf.writeUInt16LE(extraLength - 4, at + 2);
    at += 4;
    // APPNOTE 4.5.3 order: uncompressed size, compressed size, local header offset
    if (entry.zip64) {
      writeU64(buf, entry.size, at);
      writeU64(buf, entry.compressedSize, at + 8);
      at += 16;
    }
    if (bigOffset) writeU64(buf, entry.offset, at);
  }
  return buf;
}

/** End of central directory, preceded by the ZIP64 record and locator when a field overflows. */
export function endOfCentralDirectory(count: number, centralOffset: number, centralSize: number): Buffer {
  const needs64 = count >= MAX_16 || centralOffset >= MAX_32 || centralSize >= MAX_32;
  const parts: Buffer[] = [];
  if (needs64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(ZIP64_END_OF_CENTRAL, 0);
    writeU64(record, 44, 4); // size of the rest of this record
    record.writeUInt16LE(VERSION_ZIP64, 12);
    record.writeUInt16LE(VERSION_ZIP64, 14);
    // this disk and the central directory's disk stay 0
    writeU64(record, count, 24);
    writeU64(record, count, 32);
    writeU64(record, centralSize, 40);
    writeU64(record, centralOffset, 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(ZIP64_LOCATOR, 0);
    writeU64(locator, centralOffset + centralSize, 8); // where the ZIP64 record starts
    locator.writeUInt32LE(1, 16); // total number of disks
    parts.push(record, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(END_OF_CENTRAL, 0);
  end.writeUInt16LE(Math.min(count, MAX_16), 8);
  end.writeUInt16LE(Math.min(count, MAX_16), 10);
  end.writeUInt32LE(Math.min(centralSize, MAX_32), 12);
  end.writeUInt32LE(Math.min(centralOffset, MAX_32), 16);
  parts.push(end);
  return Buffer.concat(parts);
}

interface DeflateJob {
  promise: Promise<Buffer>;
  result: Buffer | undefined;
}

/**
 * One streamed entry. Data arrives in large chunks; each chunk is deflated on the libuv thread
 * pool while the caller builds the next one (at most `parallel` chunks in flight), so XML
 * building and compression use different cores. Each chunk is an independent deflate call
 * primed with the previous chunk's last 32 KiB as dictionary and ended with a sync flush, so
 * the concatenation is one valid deflate stream compressed almost as well as in one piece
 * (the technique of pigz). Outputs come back in order.
 */
export class EntryStream {
  readonly header: Buffer;
  readonly zip64: boolean;
  size = 0;
  private compressedSize = 0;
  private crc = 0;
  private previous: Buffer | undefined;
  private readonly jobs: DeflateJob[] = [];

  constructor(
    private readonly archive: ZipWriter,
    private readonly name: Buffer,
    private readonly flags: number,
    zip64: boolean,
    private readonly offset: number,
  ) {
    this.zip64 = zip64;
    this.header = localHeader(name, flags, zip64);
  }

  /** Adds data; resolves to the compressed bytes that are ready (possibly none). */
  async write(data: Buffer): Promise<Buffer[]> {
    if (data.length === 0) return [];
    this.size += data.length;
    this.crc = zlib.crc32(data, this.crc);
    const options: zlib.ZlibOptions = {
      level: this.archive.level,
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
      // One output buffer for the whole chunk: one trip to the thread pool instead of dozens.
      chunkSize: data.length + 1024,
    };
    if (this.previous)
      options.dictionary = this.previous.subarray(Math.max(0, this.previous.length - WINDOW));
    this.previous = data;
    const job: DeflateJob = { promise: deflateRawAsync(data, options), result: undefined };
    // Keeps a failure from being unhandled when the export is abandoned before it is awaited.
    job.promise.then(
      (out) => {
        job.result = out;
      },
      () => {},
    );
    this.jobs.push(job);
    const ready: Buffer[] = [];
    while (this.jobs.length > 0) {
      const first = this.jobs[0]!;
      if (first.result === undefined && this.jobs.length <= this.archive.parallel) break;
      ready.push(this.take(await first.promise));
      this.jobs.shift();
    }
    return ready;
  }

  /** Waits for every chunk, ends the deflate stream and writes the data descriptor. */
  async end(): Promise<Buffer[]> {
    const out: Buffer[] = [];
    while (this.jobs.length > 0) {
      out.push(this.take(await this.jobs[0]!.promise));
      this.jobs.shift();
    }
    out.push(this.take(FINAL_BLOCK));
    if (!this.zip64 && (this.size >= MAX_32 || this.compressedSize >= MAX_32)) {
      // The sheet writer rolls over long before this; reaching it is a bug, never a corrupt file.
      throw new Error(`zip entry ${this.name.toString()} passed 4 GiB without ZIP64`);
    }
    const descriptor = dataDescriptor(this.crc, this.compressedSize, this.size, this.zip64);
    this.archive.advance(descriptor.length);
    out.push(descriptor);
    this.archive.record({
      name: this.name,
      flags: this.flags,
      crc: this.crc,
      compressedSize: this.compressedSize,
      size: this.size,
      offset: this.offset,
      zip64: this.zip64,
    });
    this.previous = undefined;
    return out;
  }

  private take(chunk: Buffer): Buffer {
    this.compressedSize += chunk.length;
    this.archive.advance(chunk.length);
    return chunk;
  }
}

/** Tracks offsets and central records; hands out entries and the closing directory. */
export class ZipWriter {
  private offset = 0;
  private readonly entries: CentralRecord[] = [];
  private open = false;

  /**
   * @param level deflate level 0-9
   * @param parallel deflate calls in flight per entry; 2 keeps both cores of a small machine busy
   */
  constructor(
    readonly level: number,
    readonly parallel = 2,
  ) {}

  /** An entry whose bytes are all known: CRC and sizes go in the local header, no descriptor. */
  async wholeEntry(name: string, data: Buffer | string): Promise<Buffer[]> {
    this.assertIdle();
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const { bytes: nameBuf, utf8 } = nameBytes(name);
    const compressed = await deflateRawAsync(bytes, { level: this.level });
    const known = { crc: zlib.crc32(bytes), compressedSize: compressed.length, size: bytes.length };
    const header = localHeader(nameBuf, utf8 ? FLAG_UTF8 : 0, false, known);
    this.record({ name: nameBuf, flags: utf8 ? FLAG_UTF8 : 0, ...known, offset: this.offset, zip64: false });
    this.advance(header.length + compressed.length);
    return [header, compressed];
  }

  /** Starts a streamed entry; emit `entry.header` first, then what write/end return. */
  startEntry(name: string, zip64: boolean): EntryStream {
    this.assertIdle();
    const { bytes, utf8 } = nameBytes(name);
    const entry = new EntryStream(this, bytes, FLAG_DESCRIPTOR | (utf8 ? FLAG_UTF8 : 0), zip64, this.offset);
    this.offset += entry.header.length;
    this.open = true;
    return entry;
  }

  /** Counts bytes handed out, so local header offsets are right. */
  advance(bytes: number): void {
    this.offset += bytes;
  }

  /** Called by an entry when it ends. */
  record(entry: CentralRecord): void {
    this.open = false;
    this.entries.push(entry);
  }

  /** The central directory and end records. */
  finish(): Buffer {
    this.assertIdle();
    const central = Buffer.concat(this.entries.map(centralHeader));
    const out = Buffer.concat([
      central,
      endOfCentralDirectory(this.entries.length, this.offset, central.length),
    ]);
    this.offset += out.length;
    return out;
  }

  get bytesWritten(): number {
    return this.offset;
  }

  private assertIdle(): void {
    if (this.open) throw new Error('a zip entry is still open');
  }
}
