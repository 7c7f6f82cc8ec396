export type { RateLimitOptions } from './auth/rate-limit.js';
export { type Authenticate, anonymous, bearerTokens } from './auth.js';
export { inferType, normalizeColumns, resolveColumns } from './columns.js';
export { loadConfig, type ServiceConfig } from './config.js';
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
export { type PostgresPoolOptions, PostgresPools } from './datasets/pools.js';
export {
  DatasetRegistry,
  describeDataset,
  type OpenOptions,
  openDatasetSource,
} from './datasets/registry.js';
export {
  coerceError,
  ERROR_CATALOG,
  type ErrorCode,
  isTakeoutError,
  TakeoutError,
  type TakeoutErrorOptions,
} from './errors.js';
export * from './exports/index.js';
export type { CsvOptions } from './formats/csv.js';
export { BUILTIN_FORMATS, builtinFormats, FormatRegistry, formatNames, getFormat } from './formats/index.js';
export type { XlsxFormatOptions, XlsxOptions } from './formats/xlsx/index.js';
export { type JobSettings, jobSettingsFromEnv } from './jobs/config.js';
export {
  type CreateExportOptions,
  ExportJobs,
  type ExportJobsOptions,
  type ExportWorker,
} from './jobs/exports-api.js';
export { isExportId, newExportId } from './jobs/ids.js';
export type { JobLogger } from './jobs/log.js';
export { ownerOf } from './jobs/owner.js';
export { type EmbeddedQueueOptions, embeddedQueue } from './jobs/queue/embedded.js';
export type { ConsumeOptions, ExportQueue, QueueDelivery, QueueHandler } from './jobs/queue/types.js';
export { type MigratedJobStore, type OpenJobStoreOptions, openJobStore } from './jobs/store/index.js';
export type { MigrationOutcome } from './jobs/store/migrations.js';
export { type SqliteJobStoreOptions, sqliteJobStore } from './jobs/store/sqlite.js';
export type { JobSweepResult } from './jobs/sweeper.js';
export {
  ACTIVE_STATUSES,
  type CreateResult,
  FINISHED_STATUSES,
  JOB_STATUSES,
  type JobError,
  type JobOwner,
  type JobPage,
  type JobProgress,
  type JobRecord,
  type JobResult,
  type JobStatus,
  type JobStore,
  type ListQuery,
} from './jobs/types.js';
export { type JobView, jobView } from './jobs/view.js';
export type { NotifySettings } from './notify/config.js';
export {
  ownerWebhookSecret,
  ownerWebhookSecrets,
  type VerifyOptions,
  verifyWebhook,
  type WebhookHeaders,
  type WebhookOwner,
} from './notify/signing.js';
export type { Delivery, DeliveryAttempt, EventData, NotifyEvent, NotifyTarget } from './notify/types.js';
export type { NotificationView } from './notify/view.js';
export {
  type BuiltinFormatOptions,
  type ExportControls,
  type ExportOptions,
  exportRows,
  exportSource,
  type FormatOptionsOf,
  type PreparedExport,
  prepareExport,
} from './pipeline.js';
export { RawJson } from './raw-json.js';
export type { JsonSchema } from './schema.js';
export { createService, type Service, type ServiceOptions } from './service.js';
export { type RowsInput, type RowsSourceOptions, rowsSource } from './sources/rows.js';
export { type SqliteSourceOptions, sqliteSource } from './sources/sqlite.js';
export type * from './types.js';
export {
  exportWorkbook,
  prepareWorkbook,
  type WorkbookOptions,
  type WorkbookSheet,
} from './workbook.js';
