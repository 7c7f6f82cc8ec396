import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TakeoutError } from '../errors.js';
import { startExport, tooManyRows } from '../pipeline.js';
import { SOURCE_CLOSE_WAIT_MS, settledWithin } from '../settle.js';
import type { Progress } from '../types.js';
import type { ExportPlan } from './plan.js';

/**
 * Where the file's bytes go: a Node Writable (an HTTP response, a file; ended at the end), or
 * a function that consumes the bytes and settles when they are stored, e.g.
 * `(body) => storage.put(key, body, meta, signal)`. Either way the sink is first reached only
 * once the export has produced its first chunk, so setup errors reject `runExport` before
 * the sink sees anything. A Writable is destroyed whenever the export fails, before its first
 * chunk too (a file's descriptor is closed; the partial file is the caller's to delete); to
 * answer a setup error with a problem, pass a function sink (as the HTTP routes do).
 */
export type ExportSink = Writable | ((body: AsyncIterable<Uint8Array>) => Promise<unknown>);

export interface RunOptions {
  /** Stops the export; the source is closed and `runExport` rejects with `aborted`. */
  signal?: AbortSignal | undefined;
  /** Rows and bytes so far, at most every `progressIntervalMs`, and once at the end (`done`). */
  onProgress?: ((progress: Progress) => void) | undefined;
  progressIntervalMs?: number | undefined;
  /** Fail with `sync_limit_exceeded` beyond this many rows (`plan.syncCaps.maxRows` for sync exports). */
  maxRows?: number | undefined;
  /** ... or beyond this many bytes. */
  maxBytes?: number | undefined;
  /** Compute the SHA-256 of the bytes (default true); a response streamed to a client has no use for it. */
  checksum?: boolean | undefined;
}

/** What was written: what a job records and a download can be checked against. */
export interface RunResult {
  rows: number;
  bytes: number;
  /** Hex SHA-256 of the bytes written. */
  sha256: string;
}

/**
 * Runs a planned export into `sink`: the one way an export runs, whether the sink is an
 * HTTP response, a file or storage. It takes over the plan's source and closes it however
 * the export ends: success, error, abort, or a sink that stops reading.
 */
export async function runExport(
  plan: ExportPlan,
  sink: ExportSink,
  options: RunOptions & { checksum: false },
): Promise<Omit<RunResult, 'sha256'>>;
export async function runExport(plan: ExportPlan, sink: ExportSink, options?: RunOptions): Promise<RunResult>;
export async function runExport(
  plan: ExportPlan,
  sink: ExportSink,
  options: RunOptions = {},
): Promise<RunResult | Omit<RunResult, 'sha256'>> {
  const source = plan.takeSource();
  if (!source) {
    release(sink);
    throw new TakeoutError('internal', 'This export plan was already run or closed');
  }
  // Counted past the limit: refused before the first byte, not after writing up to it.
  const { rows: counted } = plan.estimate.counted ? plan.estimate : { rows: undefined };
  if (options.maxRows !== undefined && counted !== undefined && counted > options.maxRows) {
    release(sink);
    // As every close here: bounded, and its own failure never hides why the export stopped.
    await settledWithin(
      Promise.resolve()
        .then(() => source.close?.())
        .catch(() => {}),
      SOURCE_CLOSE_WAIT_MS,
    );
    throw tooManyRows(options.maxRows);
  }
  let last: Progress | undefined;
  let abandoned: Promise<void> | undefined;
  let prepared: Awaited<ReturnType<typeof startExport>>;
  try {
    prepared = await startExport(
      source,
      {
        signal: options.signal,
        progressIntervalMs: options.progressIntervalMs,
        maxRows: options.maxRows,
        onProgress: (progress) => {
          last = progress;
          options.onProgress?.(progress);
        },
        onBackgroundClose: (closing) => {
          abandoned = closing;
        },
      },
      async () => plan,
    );
  } catch (error) {
    // Aborted before the first chunk: as after any other end, the caller gets control back once
    // the source has closed (or SOURCE_CLOSE_WAIT_MS passed), so what it holds outlives it.
    if (abandoned) await settledWithin(abandoned, SOURCE_CLOSE_WAIT_MS);
    release(sink);
    throw error;
  }
  const hash = options.checksum === false ? undefined : createHash('sha256');
  let bytes = 0;
  let complete = false;
  const { maxBytes } = options;
  async function* body(): AsyncGenerator<Uint8Array> {
    for await (const chunk of prepared.stream as AsyncIterable<Uint8Array>) {
      bytes += chunk.byteLength;
      if (maxBytes !== undefined && bytes > maxBytes) {
        throw new TakeoutError('sync_limit_exceeded', `The export is larger than ${maxBytes} bytes`, {
          details: { byteLimit: maxBytes },
        });
      }
      hash?.update(chunk);
      yield chunk;
    }
    complete = true;
  }
  try {
    if (typeof sink === 'function') await sink(body());
    else await pipeline(body(), sink);
  } finally {
    // A sink that failed or stopped early must not leave the source open; the caller gets
    // control back once the source is closed (its connection returned), so what it holds for
    // the export (a slot) outlives the connection, never the reverse. A source that takes
    // longer to close is left to finish in the background.
    prepared.stream.destroy();
    await settledWithin(prepared.closed, SOURCE_CLOSE_WAIT_MS);
  }
  if (!complete) throw new TakeoutError('internal', 'The sink stopped before the end of the file');
  const rows = last?.rows ?? 0;
  return hash ? { rows, bytes, sha256: hash.digest('hex') } : { rows, bytes };
}

/**
 * Closes a Writable sink of an export that failed before reaching it, as `pipeline` does after
 * the first chunk: a file the caller opened must not keep its descriptor. Destroyed without an
 * error, so a sink with no 'error' listener does not crash the process.
 */
function release(sink: ExportSink): void {
  if (typeof sink !== 'function' && !sink.destroyed) sink.destroy();
}
