import type { Duplex } from 'node:stream';
import { uint32 } from './postgres-binary-values.js';

/**
 * `COPY ... TO STDOUT` as a pg Submittable that hands out the rows' bytes in large chunks.
 *
 * Why not pg-copy-streams' `to()`: it allocates a Buffer per row and re-assembles them, which
 * made Node's CPU time per 1M-row export larger than the server's (so slower than psql).
 * PostgreSQL sends exactly one CopyData message per row (protocol docs, "COPY Operations"),
 * so here each socket chunk is walked once: message headers are skipped, row bytes are
 * copied into one output buffer, the row count is the message count, and for CRLF files each
 * row's final LF is written as CRLF. Like pg-copy-streams, it takes the socket from pg while
 * the COPY runs (pulling only when the reader asks: backpressure reaches the server) and
 * gives back everything after CopyDone, so pg handles CommandComplete, errors and
 * ReadyForQuery as usual and calls the handle* methods below.
 */
export interface CopyChunk {
  bytes: Buffer;
  rows: number;
}

interface PgConnectionLike {
  stream: Duplex;
  query(text: string): void;
}

const COPY_DATA = 0x64; // 'd'
const COPY_DONE = 0x63; // 'c'
/** Messages the server may send in the middle of a COPY: skipped here. */
const INTERSPERSED = new Set([0x48 /* H CopyOutResponse */, 0x4e /* N notice */, 0x53 /* S */, 0x41 /* A */]);
const TARGET_CHUNK = 256 * 1024;
const MAX_WAIT_MS = 20;
const CRLF = Buffer.from('\r\n');

export class CopyOut {
  readonly text: string;
  rows = 0;
  private readonly crlf: boolean;
  private connection: PgConnectionLike | undefined;
  private pgHandler: ((chunk: Buffer) => void) | undefined;
  private readonly onReadable = () => this.wake();
  // Parser state across socket chunks.
  private header = Buffer.alloc(5);
  private headerLength = 0;
  private remaining = 0; // payload bytes of the current message still to come
  private current = 0; // type of the current message
  // Lifecycle.
  private detached = false;
  private finished = false;
  private error: unknown;
  private waiter: (() => void) | undefined;
  // Output gathered for the next chunk.
  private parts: Buffer[] = [];
  private size = 0;
  private pendingRows = 0;
  /** Rows completed by the pieces readParts() returned last. */
  takenRows = 0;

  constructor(text: string, options: { crlf: boolean }) {
    this.text = text;
    this.crlf = options.crlf;
  }

  submit(connection: PgConnectionLike): void {
    this.connection = connection;
    const stream = connection.stream;
    const listeners = stream.listeners('data') as ((chunk: Buffer) => void)[];
    if (listeners.length !== 1) throw new Error('unexpected pg connection state');
    this.pgHandler = listeners[0];
    stream.removeListener('data', this.pgHandler as (chunk: Buffer) => void);
    stream.pause();
    stream.on('readable', this.onReadable);
    connection.query(this.text);
  }

  /**
   * The next chunk of COPY output, or undefined at the end; throws the COPY's error. Chunks
   * gather up to TARGET_CHUNK bytes (the socket hands over ~16 KiB at a time; writing those
   * one by one costs more than the COPY), waiting at most MAX_WAIT_MS once some data is there.
   */
  async read(): Promise<CopyChunk | undefined> {
    const parts = await this.readParts();
    if (parts === undefined) return undefined;
    const bytes = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    return { bytes, rows: this.takenRows };
  }

  /**
   * read() as the pieces it would join (each a part of one socket chunk, in order), for a
   * reader that walks them one by one: joining them copies every byte once more and allocates
   * as much again, which the binary COPY path's decoder does not need. The rows they complete
   * are in `takenRows`.
   */
  async readParts(): Promise<Buffer[] | undefined> {
    let deadline = 0;
    for (;;) {
      if (this.error !== undefined) throw this.error;
      if (!this.detached && this.connection) this.pull();
      if (this.error !== undefined) throw this.error; // pg may have reported it during pull()
      if (this.size >= TARGET_CHUNK || (this.size > 0 && (this.detached || this.finished)))
        return this.take();
      if (this.finished) return undefined;
      if (this.size > 0) {
        const now = Date.now();
        deadline ||= now + MAX_WAIT_MS;
        if (now >= deadline) return this.take();
        await this.wait(deadline - now);
      } else await this.wait();
    }
  }

  private take(): Buffer[] {
    const parts = this.parts;
    this.takenRows = this.pendingRows;
    this.rows += this.pendingRows;
    this.parts = [];
    this.size = 0;
    this.pendingRows = 0;
    return parts;
  }

  private wait(ms?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => this.wake(), ms);
      this.waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Converts what the socket has buffered into `parts`. */
  private pull(): void {
    const stream = (this.connection as PgConnectionLike).stream;
    while (this.size < TARGET_CHUNK && !this.detached) {
      const input = stream.read() as Buffer | null;
      if (input === null) return;
      this.convert(input);
    }
  }

  /**
   * Walks one socket chunk and moves its row bytes together in place, over the message
   * headers (`copyWithin`: no allocation per row; the chunk is a fresh buffer from the
   * socket that nothing else reads). The write position never passes the read position,
   * except when a CRLF file's first row in the chunk began in an earlier chunk: that row
   * end goes out as separate pieces. Stops (and detaches) after CopyDone.
   */
  private convert(input: Buffer): void {
    let base = 0; // start of the in-place output region
    let o = 0; // write position
    let i = 0; // read position
    while (i < input.length) {
      if (this.remaining === 0) {
        // A message header: type byte + int32 length (which counts itself), maybe split
        // across socket chunks.
        let whole = true;
        if (this.headerLength === 0 && input.length - i >= 5) {
          this.current = input[i] as number;
          this.remaining = uint32(input, i + 1) - 4;
          i += 5;
        } else {
          whole = false;
          while (this.headerLength < 5 && i < input.length)
            this.header[this.headerLength++] = input[i++] as number;
          if (this.headerLength < 5) break;
          this.current = this.header[0] as number;
          this.remaining = this.header.readUInt32BE(1) - 4;
          this.headerLength = 0;
        }
        if (this.current !== COPY_DATA && !INTERSPERSED.has(this.current)) {
          // CopyDone, CommandComplete, ErrorResponse ...: pg takes over from this message on;
          // CopyDone itself (no payload) is consumed here, as pg-copy-streams does.
          this.emit(input.subarray(base, o));
          const header = whole ? input.subarray(i - 5, i) : this.header;
          const rest = input.subarray(i);
          if (this.current === COPY_DONE && this.remaining === 0) this.detach(rest);
          else this.detach(Buffer.concat([header, rest]));
          return;
        }
        if (this.remaining === 0) continue;
      }
      const n = Math.min(this.remaining, input.length - i);
      if (this.current === COPY_DATA) {
        const ends = n === this.remaining;
        if (ends) this.pendingRows++;
        if (ends && this.crlf) {
          // The row's last byte is its LF: it becomes CRLF, one byte more than was read.
          if (o === i) {
            this.emit(input.subarray(base, o));
            this.emit(input.subarray(i, i + n - 1));
            this.emit(CRLF);
            base = o = i + n;
          } else {
            input.copyWithin(o, i, i + n - 1);
            o += n - 1;
            input[o++] = 0x0d;
            input[o++] = 0x0a;
          }
        } else {
          if (o !== i) input.copyWithin(o, i, i + n);
          o += n;
        }
      }
      this.remaining -= n;
      i += n;
    }
    this.emit(input.subarray(base, o));
  }

  private emit(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.parts.push(bytes);
    this.size += bytes.length;
  }

  private detach(rest: Buffer): void {
    this.detached = true;
    const connection = this.connection as PgConnectionLike;
    const stream = connection.stream;
    stream.removeListener('readable', this.onReadable);
    stream.on('data', this.pgHandler as (chunk: Buffer) => void);
    if (rest.length > 0) this.pgHandler?.(rest);
    // Reading may have paused the socket; resume after pg has handled what it was given.
    process.nextTick(() => stream.resume());
  }

  /** Ends the reading with `error` (an abort): a pending read() rejects at once. */
  fail(error: unknown): void {
    this.error ??= error;
    this.wake();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  // Called by pg once it has the connection back (or when the connection fails).
  handleCommandComplete(): void {}

  handleReadyForQuery(): void {
    this.finished = true;
    this.wake();
  }

  handleError(error: unknown): void {
    this.error ??= error;
    if (!this.detached && this.connection) {
      // The socket failed while it was ours: give it back so pg can finish its bookkeeping.
      this.detach(Buffer.alloc(0));
    }
    this.finished = true;
    this.wake();
  }
}
