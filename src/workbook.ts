import type { Readable } from 'node:stream';
import { resolveColumns } from './columns.js';
import { TakeoutError } from './errors.js';
import {
  type PlannedSheet,
  SHEET_BREAK,
  WorkbookPlan,
  workbookFormat,
  type XlsxOptions,
} from './formats/xlsx/index.js';
import { type ExportOptions, exportSource, type PreparedExport, prepareExport } from './pipeline.js';
import { type RowsInput, rowsSource } from './sources/rows.js';
import type { ColumnSpec, ResolvedColumn, Row, Source } from './types.js';

/** One named sheet of a workbook: rows handed over, or any Source (SQL query...). */
export interface WorkbookSheet {
  /** Sheet name, sanitised to Excel's rules; default `Sheet<n>`. */
  name?: string;
  /** Rows or batches of rows (as for `exportRows`); give this or `source`. */
  rows?: RowsInput;
  source?: Source;
  /** This sheet's columns (keys or Column objects); inferred or taken from the source when absent. */
  columns?: readonly ColumnSpec[];
  batchSize?: number;
  batched?: boolean;
}

/** Options of a workbook export: the pipeline's (signal, onProgress, maxRows...) and XLSX's. */
export interface WorkbookOptions
  extends XlsxOptions,
    Pick<ExportOptions, 'filename' | 'signal' | 'onProgress' | 'progressIntervalMs' | 'maxRows'> {}

interface ResolvedSheet extends PlannedSheet {
  source: Source;
  /** Object rows turned into arrays when the sheets mix both shapes (the pipeline checks one shape). */
  toArrays: ((batch: readonly Row[]) => Row[]) | undefined;
}

function sourceOf(sheet: WorkbookSheet, i: number): Source {
  if (typeof sheet !== 'object' || sheet === null) {
    throw new TakeoutError('invalid_request', `sheets[${i}] must be an object`);
  }
  if ((sheet.rows === undefined) === (sheet.source === undefined)) {
    throw new TakeoutError('invalid_request', `sheets[${i}] needs either rows or a source`);
  }
  if (sheet.source) return sheet.source;
  const options: Parameters<typeof rowsSource>[1] = {};
  if (sheet.columns !== undefined) options.columns = sheet.columns;
  if (sheet.batchSize !== undefined) options.batchSize = sheet.batchSize;
  if (sheet.batched !== undefined) options.batched = sheet.batched;
  return rowsSource(sheet.rows as RowsInput, options);
}

/** One Source over every sheet: their batches in turn, each sheet closed by SHEET_BREAK. */
function workbookSource(sheets: readonly WorkbookSheet[], plan: WorkbookPlan): Source {
  let sources: Source[] = [];
  let resolved: Promise<ResolvedSheet[]> | undefined;
  const resolve = (): Promise<ResolvedSheet[]> => {
    resolved ??= (async () => {
      if (!Array.isArray(sheets) || sheets.length === 0) {
        throw new TakeoutError('invalid_request', 'a workbook needs at least one sheet');
      }
      sources = sheets.map(sourceOf);
      const out: ResolvedSheet[] = [];
      for (const [i, sheet] of sheets.entries()) {
        const source = sources[i]!;
        const rowShape = (await source.rowShape?.()) ?? 'object';
        const declared = await source.columns();
        const columns =
          sheet.source && sheet.columns ? resolveColumns(sheet.columns, [], rowShape, declared) : declared;
        out.push({ name: sheet.name, columns, rowShape, source, toArrays: undefined });
      }
      if (out.some((s) => s.rowShape !== out[0]!.rowShape)) {
        for (const sheet of out) {
          if (sheet.rowShape !== 'object') continue;
          const keys = sheet.columns.map((c) => c.key);
          sheet.toArrays = (batch) =>
            batch.map((row) => keys.map((k) => (row as Record<string, unknown>)[k]));
          sheet.columns = sheet.columns.map((c, index): ResolvedColumn => ({ ...c, index }));
          sheet.rowShape = 'array';
        }
      }
      plan.sheets = out.map(({ name, columns, rowShape }) => ({ name, columns, rowShape }));
      return out;
    })();
    return resolved;
  };
  return {
    async rowShape() {
      return (await resolve())[0]!.rowShape;
    },
    async columns() {
      return [...(await resolve())[0]!.columns];
    },
    async estimate() {
      await resolve();
      let total = 0;
      for (const source of sources) {
        const n = await source.estimate?.();
        if (n === undefined) return undefined;
        total += n;
      }
      return total;
    },
    async *batches(signal) {
      for (const sheet of await resolve()) {
        for await (const batch of sheet.source.batches(signal)) {
          yield sheet.toArrays ? sheet.toArrays(batch) : batch;
        }
        yield SHEET_BREAK;
      }
    },
    async close() {
      const results = await Promise.allSettled(sources.map((s) => s.close?.()));
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    },
  };
}

function pipelineOptions(options: WorkbookOptions, plan: WorkbookPlan): ExportOptions {
  const { columns: _columns, format: _format, ...rest } = options as ExportOptions;
  return { ...rest, format: workbookFormat(plan) };
}

/**
 * Several named sheets in one XLSX file, each from its own rows or Source with its own columns.
 * Like `prepareExport`: resolves everything and produces the first chunk before returning.
 */
export async function prepareWorkbook(
  sheets: readonly WorkbookSheet[],
  options: WorkbookOptions = {},
): Promise<PreparedExport> {
  const plan = new WorkbookPlan();
  return prepareExport(workbookSource(sheets, plan), pipelineOptions(options, plan));
}

/** Several named sheets in one XLSX file, as a Node stream (errors arrive as stream errors). */
export function exportWorkbook(sheets: readonly WorkbookSheet[], options: WorkbookOptions = {}): Readable {
  const plan = new WorkbookPlan();
  return exportSource(workbookSource(sheets, plan), pipelineOptions(options, plan));
}
