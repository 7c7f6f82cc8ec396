export { inferType, normalizeColumns, resolveColumns } from './columns.js';
export { coerceError, ERROR_CATALOG, type ErrorCode, isTakeoutError, TakeoutError } from './errors.js';
export type { CsvOptions } from './formats/csv.js';
export { formatNames, getFormat, registerFormat } from './formats/index.js';
export {
  type ExportOptions,
  exportRows,
  exportSource,
  type PreparedExport,
  prepareExport,
} from './pipeline.js';
export { type RowsInput, type RowsSourceOptions, rowsSource } from './sources/rows.js';
export type * from './types.js';
