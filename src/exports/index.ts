// The export core every front end calls: HTTP, the CLI and the job worker.
export { pickColumns } from './columns.js';
export { downloadName } from './filename.js';
export {
  DEFAULT_EXPORT_LIMITS,
  ESTIMATED_BYTES_PER_CELL,
  type ExportContext,
  type ExportEstimate,
  type ExportLimits,
  ExportPlan,
  type PlanOptions,
  planExport,
  type SyncCaps,
  type SyncDecision,
} from './plan.js';
export {
  EXPORT_REQUEST_VERSION,
  type ExportRequest,
  exportRequestSchema,
  type ParseRequestOptions,
  parseExportRequest,
} from './request.js';
export { type ExportSink, type RunOptions, type RunResult, runExport } from './run.js';
