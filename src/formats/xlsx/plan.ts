import type { ResolvedColumn, Row } from '../../types.js';
import type { SheetInput } from './writer.js';

/**
 * Several sheets through the one-stream pipeline: exportWorkbook hands the pipeline one source
 * whose batches are each sheet's batches in turn, closed by SHEET_BREAK, and a writer made
 * for this plan (`workbookFormat(plan)`).
 */

/** Ends a sheet's batches; compared by identity. */
export const SHEET_BREAK: Row[] = Object.freeze([]) as unknown as Row[];

export interface PlannedSheet {
  name: string | undefined;
  columns: readonly ResolvedColumn[];
  rowShape: 'array' | 'object';
}

export class WorkbookPlan {
  sheets: PlannedSheet[] = [];
}

/** Cuts one stream of batches into the plan's sheets, at each SHEET_BREAK. */
export async function* splitSheets(
  batches: AsyncIterable<readonly Row[]>,
  plan: WorkbookPlan,
): AsyncGenerator<SheetInput> {
  const iterator = batches[Symbol.asyncIterator]();
  let exhausted = false;
  async function* untilBreak(): AsyncGenerator<readonly Row[]> {
    while (!exhausted) {
      const next = await iterator.next();
      if (next.done) {
        exhausted = true;
        return;
      }
      if (next.value === SHEET_BREAK) return;
      yield next.value;
    }
  }
  try {
    for (const sheet of plan.sheets) yield { ...sheet, batches: untilBreak() };
  } finally {
    if (!exhausted) await iterator.return?.();
  }
}
