import { type BatchRows, ROW_ARRAYS, sampleBatches } from '../../batches.js';
import { TakeoutError } from '../../errors.js';
import type { ResolvedColumn, Row } from '../../types.js';
import { rowFailure } from '../row-errors.js';
import { BufferPool, XmlBytes } from './bytes.js';
import { type CellWriter, cellWriter, headerCell } from './cell.js';
import { SheetNames, sanitizeSheetName } from './names.js';
import { EXCEL_MAX_ROWS, MAX_SHEETS, type XlsxSettings } from './options.js';
import {
  columnWidths,
  compileRowWriter,
  type RowWriter,
  SAMPLE_ROWS,
  sheetHead,
  sheetTail,
} from './sheet.js';
import { StyleSheet } from './styles.js';
import {
  contentTypes,
  packageRels,
  type SheetEntry,
  sheetPartName,
  workbookRels,
  workbookXml,
} from './workbook.js';
import { columnLetters } from './xml.js';
import { type EntryStream, ZipWriter } from './zip.js';

/** One sheet of input: it may become several worksheets when it rolls over. */
export interface SheetInput<B = readonly Row[]> {
  name: string | undefined;
  columns: readonly ResolvedColumn[];
  rowShape: 'array' | 'object';
  batches: AsyncIterable<B>;
  /** How to read batches that are not arrays of rows; without it, they are. */
  reader?: BatchReader<B>;
}

/**
 * How a sheet reads its batches. Usually they are arrays of rows; a source that writes cells
 * from its own bytes (postgres-binary-xlsx.ts) hands batches of its own with a reader for them.
 * A batch stays valid while the sheet holds it (it may hold a few, to sample them); `row`
 * gives row `i` as values in the sheet's rowShape, for the sample that sizes the columns.
 */
export interface BatchReader<B> extends BatchRows<B> {
  /** The writer of a batch's rows into `out`, given the columns' cell writers. */
  rowWriter(cells: readonly CellWriter[], out: XmlBytes): RowWriter<B>;
}

/** A sheet whose rows, at the sampled size, could fill this much is written as ZIP64 from the start. */
const ZIP64_ESTIMATE = 2 ** 31;
/** A sheet written without ZIP64 rolls over before its XML could reach 4 GiB (with room to spare). */
const PLAIN_ENTRY_LIMIT = 2 ** 32 - 64 * 2 ** 20;

interface Book {
  zip: ZipWriter;
  styles: StyleSheet;
  names: SheetNames;
  entries: SheetEntry[];
  settings: XlsxSettings;
  signal: AbortSignal | undefined;
  pool: BufferPool;
}

/**
 * The whole XLSX file, streamed: `_rels/.rels`, then each sheet's XML as its rows arrive, then
 * the parts that depend on every sheet (workbook, styles, content types) and the ZIP directory.
 * Nothing grows with the number of rows: a sheet holds at most one chunk of XML and three chunks
 * being deflated; the generator only runs when its consumer asks for more.
 */
export async function* writeWorkbook<B = readonly Row[]>(
  sheets: AsyncIterable<SheetInput<B>> | Iterable<SheetInput<B>>,
  settings: XlsxSettings,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const book: Book = {
    zip: new ZipWriter(settings.level),
    styles: new StyleSheet(),
    names: new SheetNames(),
    entries: [],
    settings,
    signal,
    pool: new BufferPool(),
  };
  yield* await book.zip.wholeEntry('_rels/.rels', packageRels());
  let ordinal = 0;
  for await (const sheet of sheets) yield* writeSheet(book, sheet, ++ordinal);
  yield* await book.zip.wholeEntry('xl/workbook.xml', workbookXml(book.entries));
  yield* await book.zip.wholeEntry('xl/_rels/workbook.xml.rels', workbookRels(book.entries));
  yield* await book.zip.wholeEntry('xl/styles.xml', book.styles.xml());
  yield* await book.zip.wholeEntry('[Content_Types].xml', contentTypes(book.entries));
  yield book.zip.finish();
}

/** Arrays of rows, read as they are. */
function rowArrays(
  columns: readonly ResolvedColumn[],
  rowShape: 'array' | 'object',
): BatchReader<readonly Row[]> {
  return { ...ROW_ARRAYS, rowWriter: (cells, out) => compileRowWriter(columns, rowShape, cells, out) };
}

async function* remaining<B>(pending: B[], iterator: AsyncIterator<B>, done: boolean): AsyncGenerator<B> {
  // Taken off the list as they go: a batch written must not stay alive for the whole sheet.
  for (let batch = pending.shift(); batch !== undefined; batch = pending.shift()) yield batch;
  if (done) return;
  while (true) {
    const next = await iterator.next();
    if (next.done) return;
    yield next.value;
  }
}

/** `error` with the sheet row it names (`details.sheetRow`: cell_too_long) set to `n`. */
function onSheetRow(error: unknown, n: number): unknown {
  if (!(error instanceof TakeoutError) || error.details?.sheetRow === undefined) return error;
  return new TakeoutError(error.code, error.message, {
    ...(error.cause === undefined ? {} : { cause: error.cause }),
    details: { ...error.details, sheetRow: n },
  });
}

export function tooManySheets(maxRowsPerSheet: number): TakeoutError {
  return new TakeoutError(
    'too_many_sheets',
    `The workbook would need more than ${MAX_SHEETS} sheets; raise maxRowsPerSheet (now ${maxRowsPerSheet}) or export fewer rows`,
    { details: { limit: MAX_SHEETS, maxRowsPerSheet } },
  );
}

async function* writeSheet<B>(book: Book, input: SheetInput<B>, ordinal: number): AsyncGenerator<Uint8Array> {
  const { settings, zip } = book;
  const columns = input.columns;
  const letters = columns.map((_, i) => columnLetters(i));
  const reader = input.reader ?? (rowArrays(columns, input.rowShape) as unknown as BatchReader<B>);
  // The sheet's XML goes straight into bytes, across rollovers; chunks leave it for deflate.
  const out = new XmlBytes(book.pool);
  const row = reader.rowWriter(
    columns.map((c, i) => cellWriter(c, letters[i]!, settings, book.styles, out)),
    out,
  );
  const headerRow = settings.header
    ? `<row r="1">${columns.map((c, i) => headerCell(c.header, letters[i]!, settings)).join('')}</row>`
    : '';
  const lastLetter = letters[letters.length - 1];
  const baseName = sanitizeSheetName(input.name, `Sheet${ordinal}`);
  const limit = settings.maxRowsPerSheet;

  const release = (chunk: Buffer) => book.pool.give(chunk);
  const iterator = input.batches[Symbol.asyncIterator]();
  let exhausted = false;
  let entry: EntryStream | undefined;
  try {
    const { pending, sample: values, done } = await sampleBatches(iterator, SAMPLE_ROWS, SAMPLE_ROWS, reader);
    exhausted = done;
    const widths = columnWidths(columns, input.rowShape, values, settings);
    values.length = 0; // measured: the sampled rows need not outlive their batches
    let sampled = 0;
    // Row numbers for `invalid_rows`: a row of the caller's that throws when read (row-errors.ts).
    let rowsBefore = 0;
    const writeRow = (batch: B, i: number, n: number) => {
      try {
        row(batch, i, n);
      } catch (error) {
        // Batches of a source's own bytes (input.reader) hold no caller's rows: an error there is ours.
        if (input.reader) throw error;
        throw rowFailure(error, reader.row(batch, i), rowsBefore + i + 1, columns, input.rowShape);
      }
    };
    // In a function of its own: a suspended generator keeps its loop variables (the last batch
    // sampled, and with it the first rows) alive for as long as the sheet is written.
    (() => {
      for (const batch of pending) {
        const size = reader.size(batch);
        for (let i = 0; i < size && sampled < SAMPLE_ROWS; i++, sampled++) {
          // Measured at the widest row number; an error names the row the cell will be on.
          try {
            writeRow(batch, i, EXCEL_MAX_ROWS);
          } catch (error) {
            throw onSheetRow(error, (settings.header ? 1 : 0) + sampled + 1);
          }
        }
        rowsBefore += size;
      }
    })();
    rowsBefore = 0;
    const sampleBytes = out.pos;
    out.pos = 0; // measured, not kept
    const zip64 = sampled > 0 && (sampleBytes / sampled) * limit > ZIP64_ESTIMATE;

    let sheet: SheetEntry = undefined as unknown as SheetEntry;
    let rowNumber = 0;
    const start = (): Buffer => {
      if (book.entries.length >= MAX_SHEETS) throw tooManySheets(limit);
      sheet = { name: book.names.unique(baseName), index: book.entries.length + 1, filterRef: undefined };
      book.entries.push(sheet);
      const started = zip.startEntry(sheetPartName(sheet.index), zip64);
      entry = started;
      out.utf8(sheetHead(widths, { frozen: settings.freezeHeader, selected: sheet.index === 1 }) + headerRow);
      rowNumber = settings.header ? 1 : 0;
      return started.header;
    };
    const write = async (chunks: Buffer[]): Promise<Buffer[]> => {
      const compressed: Buffer[] = [];
      for (const chunk of chunks) compressed.push(...(await entry!.write(chunk, release)));
      return compressed;
    };
    const finish = async (): Promise<Buffer[]> => {
      if (settings.autoFilter && lastLetter) sheet.filterRef = `A1:${lastLetter}${Math.max(rowNumber, 1)}`;
      out.utf8(sheetTail(sheet.filterRef));
      const written = await write(out.drain());
      const ended = await entry!.end();
      entry = undefined;
      return written.concat(ended);
    };

    yield start();
    for await (const batch of remaining(pending, iterator, done)) {
      book.signal?.throwIfAborted();
      const size = reader.size(batch);
      for (let i = 0; i < size; i++) {
        if (rowNumber >= limit) {
          yield* await finish();
          yield start();
        }
        const mark = out.pos;
        writeRow(batch, i, rowNumber + 1);
        if (!zip64 && entry!.size + out.heldBytes > PLAIN_ENTRY_LIMIT) {
          // Take the row back and write it on a new sheet before this entry could need ZIP64.
          out.pos = mark;
          yield* await finish();
          yield start();
          writeRow(batch, i, rowNumber + 1);
        }
        rowNumber++;
        out.rowDone();
        if (out.ready) yield* await write(out.take());
      }
      rowsBefore += size;
    }
    exhausted = true;
    yield* await finish();
  } finally {
    entry?.abandon(); // still open: the sheet failed
    if (!exhausted) await iterator.return?.();
  }
}
