import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { crc32Combine } from './crc32-combine.js';
import { type DeflateEngine, deflateEngine } from './deflate.js';
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
 * A streaming ZIP writer for the XLSX container, on node:zlib (and ISA-L for sheets: deflate.ts).
 *
 * Why not a library: the only ZIP writer installed (archiver's compress-commons, via exceljs)
 * decides ZIP64 from a size known before the entry, or for the whole archive at once, so a
 * streamed entry that passes 4 GiB gets 4-byte sizes and a corrupt file. We need ZIP64 chosen per
 * entry up front, only for entries that may pass 4 GiB, in the layout Excel opens: version 45 in
 * the local header with no ZIP64 extra there, a data descriptor with 8-byte sizes, and the ZIP64
 * extra in the central directory (zip-records.ts).
 */

const deflateRawAsync = promisify(zlib.deflateRaw);
/** Deflate's window: each chunk is deflated with the data before it, up to this much, as its dictionary. */
const WINDOW = 32 * 1024;
/** A final, empty deflate block (fixed Huffman): ends the entry's data after the last chunk. */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

/** One chunk on its way through deflate. */
interface Job {
  bytes: number;
  done: boolean;
  output: Buffer | undefined;
  /** The chunk's own CRC-32, chained in order as jobs are taken. */
  crc: number;
  promise: Promise<void>;
}

/**
 * One streamed entry. Its data is cut into chunks that are deflated independently (by the
 * archive's engine, deflate.ts), each on its own libuv thread-pool job, as pigz does: every
 * chunk continues the same raw deflate stream (the 32 KiB before it as its dictionary, so no
 * match is lost), ends with a sync flush, and the stream ends with an empty final block. A job
 * starts the moment its chunk is written and needs nothing from the main thread until it is
 * done, so deflate keeps the second core busy while the main thread builds the next chunks; one
 * deflate stream could only start its next chunk when the main thread came back to the event
 * loop. Each chunk's CRC-32 comes with its output; they are chained in order. At most
 * `queuedBytes` wait for deflate; then `write` waits.
 */
export class EntryStream {
  readonly header: Buffer;
  readonly zip64: boolean;
  /** Uncompressed bytes so far. */
  size = 0;
  private compressedSize = 0;
  private crc = 0;
  private readonly jobs: Job[] = [];
  private queued = 0;
  /** The last bytes written (up to WINDOW), the dictionary of the next chunk. */
  private readonly window = Buffer.allocUnsafe(WINDOW);
  private windowLength = 0;

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

  /**
   * Adds data; resolves to the compressed bytes that are ready (possibly none). `data` must not
   * change until deflate has consumed it; then it is handed to `release`, for reuse.
   */
  async write(data: Buffer, release?: (data: Buffer) => void): Promise<Buffer[]> {
    if (data.length === 0) return [];
    this.size += data.length;
    const job: Job = {
      bytes: data.length,
      done: false,
      output: undefined,
      crc: 0,
      promise: Promise.resolve(),
    };
    const dictionary = this.windowLength > 0 ? this.window.subarray(0, this.windowLength) : undefined;
    job.promise = this.archive.engine.deflate(data, dictionary).then(({ output, crc }) => {
      job.output = output;
      job.crc = crc;
      job.done = true;
      this.queued -= job.bytes;
      release?.(data);
    });
    job.promise.catch(() => {}); // its failure is thrown where the job is awaited
    this.jobs.push(job);
    this.queued += data.length;
    this.slideWindow(data); // the engine copied the dictionary when the job was created
    while (this.queued > this.archive.queuedBytes) await this.jobs.find((j) => !j.done)!.promise;
    return this.take();
  }

  /** Waits for deflate and writes the data descriptor. */
  async end(): Promise<Buffer[]> {
    for (const job of this.jobs) await job.promise;
    const out = this.take();
    out.push(FINAL_BLOCK);
    this.compressedSize += FINAL_BLOCK.length;
    this.archive.advance(FINAL_BLOCK.length);
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
    return out;
  }

  /** Drops an entry that will not be finished (the export failed); running jobs just end. */
  abandon(): void {
    this.jobs.length = 0;
  }

  /** Keeps the last WINDOW bytes of what was written, `data` included. */
  private slideWindow(data: Buffer): void {
    if (data.length >= WINDOW) {
      data.copy(this.window, 0, data.length - WINDOW);
      this.windowLength = WINDOW;
      return;
    }
    const keep = Math.min(this.windowLength, WINDOW - data.length);
    this.window.copyWithin(0, this.windowLength - keep, this.windowLength);
    data.copy(this.window, keep);
    this.windowLength = keep + data.length;
  }

  /** The output of the finished jobs at the front of the queue, in order. */
  private take(): Buffer[] {
    const out: Buffer[] = [];
    while (this.jobs.length > 0 && this.jobs[0]!.done) {
      const job = this.jobs.shift()!;
      const output = job.output!;
      this.crc = crc32Combine(this.crc, job.crc, job.bytes);
      this.compressedSize += output.length;
      this.archive.advance(output.length);
      out.push(output);
    }
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
   * @param queuedBytes data an entry lets wait for deflate before `write` waits (two chunks; three
   *   can be in deflate while the main thread waits)
   * @param engine what deflates streamed entries (deflate.ts: ISA-L for levels 1-3 when installed)
   */
  constructor(
    readonly level: number,
    readonly queuedBytes = 1 << 21,
    readonly engine: DeflateEngine = deflateEngine(level),
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
