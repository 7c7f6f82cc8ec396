import { once } from 'node:events';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import {
  type CentralRecord,
  centralHeader,
  dataDescriptor,
  endOfCentralDirectory,
  FLAG_DESCRIPTOR,
  FLAG_UTF8,
  localHeader,
  MAX_32,
  nameBytes,
} from './zip-records.js';

/**
 * A streaming ZIP writer for the XLSX container, on node:zlib.
 *
 * Why not a library: the only ZIP writer installed (archiver's compress-commons, via exceljs)
 * decides ZIP64 from a size known before the entry, or for the whole archive at once, so a
 * streamed entry that passes 4 GiB gets 4-byte sizes and a corrupt file. We need ZIP64 chosen per
 * entry up front, only for entries that may pass 4 GiB, in the layout Excel opens: version 45 in
 * the local header with no ZIP64 extra there, a data descriptor with 8-byte sizes, and the ZIP64
 * extra in the central directory (zip-records.ts).
 */

const deflateRawAsync = promisify(zlib.deflateRaw);
const OUTPUT_CHUNK = 256 * 1024;

/** Node's gzip header: magic, method, no flags, no time, XFL, OS (no name, no extra field). */
const GZIP_HEADER = 10;
/** The gzip trailer: CRC-32 and size mod 2^32, little-endian. */
const GZIP_TRAILER = 8;

/**
 * One streamed entry. Its data goes through one gzip stream, which runs on the libuv thread
 * pool while the caller builds the next chunk, so XML building and compression use two cores.
 * Gzip rather than raw deflate because gzip computes the CRC-32 on the thread pool too: the
 * entry's data is the deflate stream between gzip's 10-byte header and 8-byte trailer, and the
 * trailer holds the CRC the ZIP records need. One stream per entry, not one call per chunk:
 * creating a zlib context costs about half a millisecond of main-thread time. At most
 * `queuedBytes` wait for deflate; then `write` waits.
 */
export class EntryStream {
  readonly header: Buffer;
  readonly zip64: boolean;
  /** Uncompressed bytes so far. */
  size = 0;
  private compressedSize = 0;
  private crc = 0;
  private ready: Buffer[] = [];
  private readonly deflate: zlib.Gzip;
  /** Header bytes still to drop. */
  private headerLeft = GZIP_HEADER;
  /** The last bytes out of gzip, held back: at the end they are its trailer. */
  private held: Buffer = Buffer.alloc(0);

  constructor(
    private readonly archive: ZipWriter,
    private readonly name: Buffer,
    private readonly flags: number,
    zip64: boolean,
    private readonly offset: number,
  ) {
    this.zip64 = zip64;
    this.header = localHeader(name, flags, zip64);
    // zlib streams pass stream options through to their Transform (the typings omit them).
    const options: zlib.ZlibOptions & { writableHighWaterMark: number } = {
      level: archive.level,
      chunkSize: OUTPUT_CHUNK,
      writableHighWaterMark: archive.queuedBytes,
    };
    this.deflate = zlib.createGzip(options);
    this.deflate.on('data', (chunk: Buffer) => this.received(chunk));
  }

  /** Output of gzip: the header dropped, the last 8 bytes held back, the rest is entry data. */
  private received(chunk: Buffer): void {
    if (this.headerLeft > 0) {
      const skip = Math.min(this.headerLeft, chunk.length);
      this.headerLeft -= skip;
      chunk = chunk.subarray(skip);
    }
    if (chunk.length === 0) return;
    let data: Buffer;
    if (chunk.length >= GZIP_TRAILER) {
      data = this.held;
      this.held = chunk.subarray(chunk.length - GZIP_TRAILER);
      if (data.length > 0) this.keep(data);
      data = chunk.subarray(0, chunk.length - GZIP_TRAILER);
    } else {
      const all = Buffer.concat([this.held, chunk]);
      const cut = Math.max(0, all.length - GZIP_TRAILER);
      this.held = all.subarray(cut);
      data = all.subarray(0, cut);
    }
    if (data.length > 0) this.keep(data);
  }

  private keep(data: Buffer): void {
    this.compressedSize += data.length;
    this.ready.push(data);
  }

  /**
   * Adds data; resolves to the compressed bytes that are ready (possibly none). `data` must not
   * change until deflate has consumed it; then it is handed to `release`, for reuse.
   */
  async write(data: Buffer, release?: (data: Buffer) => void): Promise<Buffer[]> {
    if (data.length === 0) return [];
    this.size += data.length;
    const room = this.deflate.write(data, () => release?.(data));
    if (!room) await once(this.deflate, 'drain'); // rejects if deflate fails
    return this.take();
  }

  /** Ends the deflate stream and writes the data descriptor. */
  async end(): Promise<Buffer[]> {
    const ended = once(this.deflate, 'end');
    this.deflate.end();
    await ended;
    if (this.held.length !== GZIP_TRAILER || this.held.readUInt32LE(4) !== this.size % 2 ** 32) {
      throw new Error(`zip entry ${this.name.toString()}: unexpected gzip trailer`);
    }
    this.crc = this.held.readUInt32LE(0);
    if (!this.zip64 && (this.size >= MAX_32 || this.compressedSize >= MAX_32)) {
      // The sheet writer rolls over long before this; reaching it is a bug, never a corrupt file.
      throw new Error(`zip entry ${this.name.toString()} passed 4 GiB without ZIP64`);
    }
    const out = this.take();
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
    return out;
  }

  /** Frees the deflate stream of an entry that will not be finished (the export failed). */
  abandon(): void {
    this.deflate.destroy();
  }

  private take(): Buffer[] {
    const out = this.ready;
    this.ready = [];
    for (const chunk of out) this.archive.advance(chunk.length);
    return out;
  }
}

/** Tracks offsets and central records; hands out entries and the closing directory. */
export class ZipWriter {
  private offset = 0;
  private readonly entries: CentralRecord[] = [];
  private open = false;

  /**
   * @param level deflate level 0-9
   * @param queuedBytes data an entry lets wait for deflate before `write` waits (about two chunks)
   */
  constructor(
    readonly level: number,
    readonly queuedBytes = 1 << 21,
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
    const flags = FLAG_DESCRIPTOR | (utf8 ? FLAG_UTF8 : 0);
    const entry = new EntryStream(this, bytes, flags, zip64, this.offset);
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

  private assertIdle(): void {
    if (this.open) throw new Error('a zip entry is still open');
  }
}
