export { inferType, normalizeColumns, resolveColumns } from './columns.js';
export { loadDatasetsFile } from './datasets/config-file.js';
export {
  type Dataset,
  type DatasetConnection,
  type DatasetDefinition,
  defineDataset,
  type Principal,
  type SourceRequest,
} from './datasets/define.js';
export type { ParamSpec, ParamType, ParamValue } from './datasets/params.js';
export { DatasetRegistry, describeDataset, openDatasetSource } from './datasets/registry.js';
export { coerceError, ERROR_CATALOG, type ErrorCode, isTakeoutError, TakeoutError } from './errors.js';
export type { CsvOptions } from './formats/csv.js';
export { formatNames, getFormat, registerFormat } from './formats/index.js';
export {
  exportWorkbook,
  prepareWorkbook,
  type WorkbookOptions,
  type WorkbookSheet,
} from './formats/xlsx/export.js';
export type { XlsxOptions } from './formats/xlsx/index.js';
export {
  type ExportOptions,
  exportRows,
  exportSource,
  type PreparedExport,
  prepareExport,
} from './pipeline.js';
export { type RowsInput, type RowsSourceOptions, rowsSource } from './sources/rows.js';
export { type SqliteSourceOptions, sqliteSource } from './sources/sqlite.js';
export type * from './types.js';
