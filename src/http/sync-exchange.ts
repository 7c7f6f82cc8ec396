import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { FastifyReply } from 'fastify';
import { TakeoutError } from '../errors.js';
import { whenAborted } from '../settle.js';

/** How long a sync export may wait on each side. */
export interface SyncTimeouts {
  /** From the request to the file's first byte (planning, the query's first rows), ms. */
  firstByteMs: number;
  /** Longest the response may go without the client taking bytes, ms. */
  idleWriteMs: number;
}

/**
 * Bytes are handed to the response in slices this large, so that a slow reader shows
 * progress often: the idle timer restarts each time the response asks for the next slice,
 * and a 128 KiB chunk could take minutes to drain at a modem's pace.
 */
const SLICE_BYTES = 16 * 1024;

/** How long the first chunks wait to learn whether they are the whole file (then sent whole). */
const WHOLE_FILE_WAIT_MS = 50;

/** A file up to this size is sent whole, with a Content-Length, when it comes within the wait. */
const WHOLE_FILE_BYTES = 256 * 1024;

/**
 * Every way one sync export can end early, behind one AbortSignal: the client going away
 * (before or after the first byte), no first byte in time, a client that stops reading, the
 * server shutting down. Listeners and timers are attached when the exchange is made, at the
 * start of the request, so none can be missed; `dispose()` removes them all. The route
 * makes one per request and disposes it in its `finally`, with the slot.
 */
export class SyncExchange {
  readonly #controller = new AbortController();
  readonly #reply: FastifyReply;
  readonly #timeouts: SyncTimeouts;
  #stopWatchingShutdown: () => void = () => {};
  #socket: Socket | undefined;
  #firstByteTimer: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #body: Readable | undefined;
  #started = false;
  #failure: unknown;

  constructor(reply: FastifyReply, timeouts: SyncTimeouts, shutdown: AbortSignal) {
    this.#reply = reply;
    this.#timeouts = timeouts;
    reply.raw.once('close', this.#onClose);
    // A response queued behind another on its connection (pipelined requests) emits nothing
    // when the connection dies: it never had the socket. The socket says it.
    this.#socket = reply.request.raw.socket ?? undefined;
    this.#socket?.once('close', this.#onClose);
    this.#firstByteTimer = setTimeout(() => {
      const seconds = timeouts.firstByteMs / 1000;
      this.abort(
        new TakeoutError(
          'source_timeout',
          `The export produced no data within ${seconds} s; ask for a background job instead (Prefer: respond-async)`,
          { details: { timeoutSeconds: seconds } },
        ),
      );
    }, timeouts.firstByteMs);
    // The client may have gone while the body was read, before this exchange listened.
    if (reply.raw.destroyed || reply.request.raw.socket?.destroyed) this.#onClose();
    // The server's shutdown signal is shared by every request: one listener behind it.
    this.#stopWatchingShutdown = whenAborted(shutdown, this.#onShutdown);
  }

  /** Aborts the export core's work for this request (plan and run). */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Why the response body failed after it started, when it did (for the log). */
  get failure(): unknown {
    return this.#failure;
  }

  /** Whether the response has started (headers handed to the server). */
  get started(): boolean {
    return this.#started;
  }

  /** Ends the export: the core stops, and a response already started is cut. */
  abort(reason: TakeoutError): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(reason);
    if (this.#started) {
      this.#body?.destroy(reason);
      this.#cut();
    }
  }

  /**
   * Cuts a response that started. HTTP/1.0 has no chunked framing: its body ends where the
   * connection does, so a clean close would pass a truncated file for a whole one; a reset
   * cannot be mistaken for the end.
   */
  #cut(): void {
    if (this.#reply.request.raw.httpVersion === '1.0') this.#reply.raw.socket?.resetAndDestroy();
    this.#reply.raw.destroy();
  }

  /**
   * Settles with the response, or rejects once the exchange is aborted: a response that never
   * got its connection (queued behind another that died) would never settle by itself.
   */
  #untilSent(sent: Promise<void>): Promise<void> {
    let stop = () => {};
    const aborted = new Promise<never>((_, reject) => {
      stop = whenAborted(this.signal, () => reject(this.signal.reason));
    });
    return Promise.race([sent, aborted]).finally(stop);
  }

  /**
   * Starts the response with `headers` and `body`; settles when the response is finished
   * (resolves) or cut short (rejects). The export core calls it with the first chunk ready.
   * A file that ends within WHOLE_FILE_BYTES (most sync exports; an XLSX file comes in many
   * small chunks, its parts) is sent whole, with a `Content-Length`; a larger one, or one whose
   * next chunk is slow to come, is streamed. Until then nothing is sent, so a failure while
   * looking for the end is still answered with a problem.
   */
  async respond(headers: Record<string, string>, body: AsyncIterable<Uint8Array>): Promise<void> {
    clearTimeout(this.#firstByteTimer);
    this.signal.throwIfAborted();
    const chunks = body[Symbol.asyncIterator]();
    const held: Uint8Array[] = [];
    let heldBytes = 0;
    let result = await chunks.next();
    // The next chunk, when the wait for it ran out: the stream goes on from it.
    let pending: Promise<IteratorResult<Uint8Array>> | undefined;
    // A source that pauses must not hold back what is ready for long.
    const deadline = Date.now() + WHOLE_FILE_WAIT_MS;
    while (!result.done) {
      held.push(result.value);
      heldBytes += result.value.byteLength;
      if (heldBytes > WHOLE_FILE_BYTES) break;
      const next = chunks.next();
      // Its failure reaches whoever awaits it; a response cut before that must not leave it unhandled.
      next.catch(() => {});
      let wait: NodeJS.Timeout | undefined;
      const got = await Promise.race([
        next,
        new Promise<undefined>((resolve) => {
          wait = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
        }),
      ]).finally(() => clearTimeout(wait));
      if (got === undefined) {
        pending = next;
        break;
      }
      result = got;
    }
    this.signal.throwIfAborted();
    if (result.done) return this.#sendWhole(headers, Buffer.concat(held, heldBytes));
    async function* rest(): AsyncGenerator<Uint8Array> {
      yield* held.splice(0);
      let next = await (pending ?? chunks.next());
      for (; !next.done; next = await chunks.next()) yield next.value;
    }
    this.#body = Readable.from(this.#paced(rest()), { objectMode: false });
    this.#started = true;
    void this.#reply.headers(headers).send(this.#body);
    return this.#untilSent(finished(this.#reply.raw));
  }

  /** Sends a whole file; it must be taken within the idle timeout, as each slice of a stream is. */
  #sendWhole(headers: Record<string, string>, bytes: Buffer): Promise<void> {
    this.#started = true;
    this.#idleTimer = setTimeout(() => {
      const seconds = this.#timeouts.idleWriteMs / 1000;
      this.abort(new TakeoutError('aborted', `The client read nothing for ${seconds} s`));
    }, this.#timeouts.idleWriteMs);
    const done = this.#untilSent(finished(this.#reply.raw)).finally(() => clearTimeout(this.#idleTimer));
    void this.#reply.headers(headers).header('content-length', bytes.byteLength).send(bytes);
    return done;
  }

  /** Removes every listener and timer; the request is over. Idempotent. */
  dispose(): void {
    clearTimeout(this.#firstByteTimer);
    clearTimeout(this.#idleTimer);
    this.#reply.raw.off('close', this.#onClose);
    this.#socket?.off('close', this.#onClose);
    this.#stopWatchingShutdown();
  }

  /** The body in slices, timing how long the response takes to ask for each next one. */
  async *#paced(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of body) {
        for (let at = 0; at < chunk.byteLength; at += SLICE_BYTES) {
          this.#idleTimer = setTimeout(() => {
            const seconds = this.#timeouts.idleWriteMs / 1000;
            this.abort(new TakeoutError('aborted', `The client read nothing for ${seconds} s`));
          }, this.#timeouts.idleWriteMs);
          try {
            yield chunk.subarray(at, at + SLICE_BYTES);
          } finally {
            clearTimeout(this.#idleTimer);
          }
        }
      }
    } catch (error) {
      this.#failure ??= error;
      // The response is cut with the body's error; over HTTP/1.0 it must not look whole.
      if (this.#reply.request.raw.httpVersion === '1.0') this.#reply.raw.socket?.resetAndDestroy();
      throw error;
    }
  }

  readonly #onClose = (): void => {
    if (!this.#reply.raw.writableFinished) this.abort(new TakeoutError('aborted', 'The client went away'));
  };

  readonly #onShutdown = (): void => {
    // The answer (503 before the first byte) closes its connection: a kept-alive one would hold
    // the closing server until the client hangs up.
    if (!this.#started && !this.#reply.sent) this.#reply.header('connection', 'close');
    this.abort(new TakeoutError('too_busy', 'The server is shutting down; retry in a few seconds'));
  };
}
