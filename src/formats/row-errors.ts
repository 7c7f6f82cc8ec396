import { TakeoutError } from '../errors.js';
import type { ResolvedColumn } from '../types.js';
import { readCell } from './compile.js';

/**
 * Row `number` (from 1) threw when read: a getter or a Proxy of the caller's. Its message is
 * not repeated (it is the caller's text, and may say more than a client should see): it is
 * the cause.
 */
export function unreadableRow(number: number, cause: unknown): TakeoutError {
  return new TakeoutError(
    'invalid_rows',
    `row ${number} cannot be read: reading a cell threw (see the cause)`,
    {
      cause,
      details: { row: number },
    },
  );
}

/**
 * What a writer throws when row `number` failed: `invalid_rows` when reading the row's cells
 * throws (the caller's data), else the error as it is (ours stays `internal`). Only runs once
 * a row has failed, so the writers' loops pay nothing for it.
 */
export function rowFailure(
  error: unknown,
  row: unknown,
  number: number,
  columns: readonly ResolvedColumn[],
  rowShape: 'array' | 'object',
): unknown {
  if (error instanceof TakeoutError || typeof row !== 'object' || row === null) return error;
  try {
    for (let i = 0; i < columns.length; i++) readCell(row, columns[i]!, i, rowShape);
  } catch (cause) {
    return unreadableRow(number, cause);
  }
  return error;
}
