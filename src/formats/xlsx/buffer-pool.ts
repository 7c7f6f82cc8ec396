/** Bytes of XML handed to deflate at once. */
export const CHUNK_BYTES = 1 << 20;
/** Room past CHUNK_BYTES for the row that crosses it; longer rows grow the buffer. */
export const SLACK_BYTES = 1 << 18;
export const BUFFER_BYTES = CHUNK_BYTES + SLACK_BYTES;

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
    if (chunk.byteOffset !== 0 || chunk.buffer.byteLength !== BUFFER_BYTES || this.free.length >= 3) return;
    this.free.push(Buffer.from(chunk.buffer, 0, BUFFER_BYTES));
  }
}
