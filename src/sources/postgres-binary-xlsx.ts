import { type BatchReader, writeWorkbook } from '../formats/xlsx/writer.js';
import type { ResolvedColumn, Row, XlsxPassthroughRequest } from '../types.js';
import { binaryCopyChunks, planCopy } from './postgres-binary-copy.js';
import { BinaryCopyParser } from './postgres-binary-rows.js';
import type { Decode } from './postgres-binary-values.js';
import { type BinaryBatch, compileBinaryXlsxRow } from './postgres-binary-xlsx-cells.js';
import type { Session } from './postgres-session.js';

/**
 * XLSX straight from the bytes of the binary COPY (the `xlsxPassthrough` of the default
 * reader): the same file, byte for byte, as decoding the rows and writing them with the XLSX
 * writer (a test compares them over every type), without a row array, string or Date per
 * value. The rows stay in the COPY chunks; the XLSX writer (formats/xlsx/writer.ts) walks them
 * in batches through a BatchReader, and its cells are written from the bytes where they can
 * be (postgres-binary-xlsx-cells.ts). Decoding the values cost about a third of the main
 * thread's time on the reference table.
 */

/** Rows per batch handed to the sheet writer (only their positions: the bytes stay in the chunks). */
const BATCH_ROWS = 512;
/**
 * Fields per batch at most: a wide row takes fewer rows per batch, so a batch's arrays stay
 * small even when rows come one per read (the sheet holds its first batches while it samples).
 */
const BATCH_FIELDS = 8192;

/** Rows per batch for rows of `width` fields. */
export function batchRows(width: number): number {
  return Math.max(1, Math.min(BATCH_ROWS, Math.floor(BATCH_FIELDS / Math.max(width, 1))));
}

function emptyBatch(rows: number, width: number): BinaryBatch {
  return {
    size: 0,
    bufs: new Array<Buffer>(rows),
    starts: new Int32Array(rows * width),
    lengths: new Int32Array(rows * width),
  };
}

/** Reads BinaryBatches for the sheet writer; rows as values (arrays) only for its width sample. */
export function binaryBatchReader(
  columns: readonly ResolvedColumn[],
  decoders: readonly Decode[],
): BatchReader<BinaryBatch> {
  const width = decoders.length;
  return {
    size: (batch) => batch.size,
    row(batch, i): Row {
      const row: unknown[] = new Array(width);
      const buf = batch.bufs[i] as Buffer;
      for (let c = 0, at = i * width; c < width; c++, at++) {
        const len = batch.lengths[at] as number;
        row[c] = len < 0 ? null : (decoders[c] as Decode)(buf, batch.starts[at] as number, len);
      }
      return row;
    },
    rowWriter: (cells, out) => compileBinaryXlsxRow(columns, decoders, cells, out),
  };
}

/**
 * The XLSX file of `query` with `request.settings`, written from its binary COPY. Rows are
 * counted to `request.onRows` as each batch goes to the writer.
 */
export async function* streamBinaryXlsx(
  s: Session,
  query: string,
  request: XlsxPassthroughRequest,
  timeoutMs: number,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  signal.throwIfAborted();
  const plan = await planCopy(s, query);
  const width = plan.decoders.length;
  const rows = batchRows(width);
  let batch = emptyBatch(rows, width);
  const parser = new BinaryCopyParser(width, (buf, starts, lengths) => {
    const k = batch.size++;
    batch.bufs[k] = buf;
    batch.starts.set(starts, k * width);
    batch.lengths.set(lengths, k * width);
  });
  const take = (): BinaryBatch => {
    const full = batch;
    batch = emptyBatch(rows, width);
    request.onRows(full.size);
    return full;
  };
  async function* batches(): AsyncGenerator<BinaryBatch> {
    for await (const parts of binaryCopyChunks(s, plan.statement, timeoutMs, signal)) {
      for (const bytes of parts) {
        parser.push(bytes); // at most one row (the one split across chunks); the batch has room
        for (;;) {
          parser.run(rows - batch.size);
          if (batch.size < rows) break; // the chunk is used up
          yield take();
        }
      }
      if (batch.size > 0) yield take();
    }
    parser.finish();
  }
  const sheet = {
    name: request.settings.sheetName,
    columns: request.columns,
    rowShape: 'array' as const,
    batches: batches(),
    reader: binaryBatchReader(request.columns, plan.decoders),
  };
  yield* writeWorkbook([sheet], request.settings, signal);
}
