import { LONG_PIECE, type XmlSink } from './cell.js';

/** Bytes of XML handed to deflate at once. */
const CHUNK_BYTES = 1 << 20;
/** Pieces gathered (a few dozen rows) before they are joined and encoded into the chunk. */
const SETTLE_PARTS = 2048;
/** Room past CHUNK_BYTES, so that a settled batch of ordinary rows always fits. */
const SLACK_BYTES = 1 << 18;
const BUFFER_BYTES = CHUNK_BYTES + SLACK_BYTES;

/**
 * Chunk buffers for reuse once deflate is done with them. Allocating a fresh buffer per chunk
 * leaves the garbage collector megabytes of dead buffers to find, which shows in RSS.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(BUFFER_BYTES);
  }

  /** Takes back a chunk (a view from the start of a pool buffer); other buffers are left to the GC. */
  give(chunk: Buffer): void {
    if (chunk.byteOffset !== 0 || chunk.buffer.byteLength !== BUFFER_BYTES || this.free.length >= 2) return;
    this.free.push(Buffer.from(chunk.buffer, 0, BUFFER_BYTES));
  }
}

/**
 * Turns a sheet's XML pieces (its XmlSink) into byte chunks for deflate: every few dozen rows the
 * pieces are joined and encoded into the current chunk, while they are young and in cache.
 */
export class XmlChunks {
  private buffer: Buffer;
  private used = 0;
  private readonly sealed: Buffer[] = [];
  private sealedBytes = 0;

  constructor(
    private readonly pool: BufferPool,
    private readonly sink: XmlSink,
  ) {
    this.buffer = pool.take();
  }

  /** Adds markup that is not a row (sheet head and tail). */
  add(s: string): void {
    this.sink.parts.push(s);
    if (s.length > LONG_PIECE) this.sink.longChars += s.length;
  }

  /** Called after each row: encodes the pending pieces when there are enough of them. */
  rowDone(): void {
    if (this.sink.parts.length >= SETTLE_PARTS) this.settle();
  }

  /** Whether a full chunk waits to be taken. */
  get ready(): boolean {
    return this.sealed.length > 0;
  }

  /** Bytes held and not yet taken: exact once encoded, an upper bound (3 bytes a unit) before. */
  get heldBytes(): number {
    const { parts, longChars } = this.sink;
    return this.sealedBytes + this.used + 3 * (longChars + LONG_PIECE * parts.length);
  }

  /** The full chunks, in order. */
  take(): Buffer[] {
    const out = this.sealed.splice(0);
    this.sealedBytes = 0;
    return out;
  }

  /** Everything held, full or not. */
  drain(): Buffer[] {
    this.settle();
    this.seal();
    return this.take();
  }

  private settle(): void {
    const { parts } = this.sink;
    if (parts.length === 0) return;
    const text = parts.join('');
    parts.length = 0;
    this.sink.longChars = 0;
    if (this.used + text.length * 3 > this.buffer.length) {
      this.seal();
      if (text.length * 3 > this.buffer.length) {
        this.push(Buffer.from(text, 'utf8')); // very long rows: a chunk of their own
        return;
      }
    }
    this.used += this.buffer.write(text, this.used, 'utf8');
    if (this.used >= CHUNK_BYTES) this.seal();
  }

  private seal(): void {
    if (this.used === 0) return;
    this.push(this.buffer.subarray(0, this.used));
    this.buffer = this.pool.take();
    this.used = 0;
  }

  private push(chunk: Buffer): void {
    this.sealed.push(chunk);
    this.sealedBytes += chunk.length;
  }
}
