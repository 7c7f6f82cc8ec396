/** Bytes of XML handed to deflate at once: big enough that thread-pool trips are few. */
const CHUNK_BYTES = 1 << 18;
/** Characters gathered before they are encoded into the chunk. */
const SETTLE_CHARS = 1 << 13;
const BUFFER_BYTES = CHUNK_BYTES + 3 * SETTLE_CHARS;

/**
 * Chunk buffers for reuse once deflate is done with them. Allocating a fresh megabyte per chunk
 * leaves the garbage collector tens of megabytes of dead buffers to find, which shows in RSS.
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
 * Gathers a sheet's XML into ~1 MiB byte chunks for deflate. Text is encoded into the chunk
 * every 64K characters, while it is young: the rope of small strings that row building makes
 * is flattened while still in cache and dies before the garbage collector has to move it.
 */
export class XmlChunks {
  private text = '';
  private buffer: Buffer;
  private used = 0;
  private readonly sealed: Buffer[] = [];
  private sealedBytes = 0;

  constructor(private readonly pool: BufferPool) {
    this.buffer = pool.take();
  }

  add(s: string): void {
    this.text += s;
    if (this.text.length >= SETTLE_CHARS) this.settle();
  }

  /** Whether a full chunk waits to be taken. */
  get ready(): boolean {
    return this.sealed.length > 0;
  }

  /** Bytes held and not yet taken: exact for encoded text, an upper bound (3 per unit) for the rest. */
  get heldBytes(): number {
    return this.sealedBytes + this.used + this.text.length * 3;
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
    const text = this.text;
    if (text.length === 0) return;
    this.text = '';
    if (this.used + text.length * 3 > this.buffer.length) {
      this.seal();
      if (text.length * 3 > this.buffer.length) {
        this.push(Buffer.from(text, 'utf8')); // one huge row: its own chunk
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
