/** What the export worker (worker.ts) runs with: its stores, limits and instruments. */
import type { ExportContext } from '../exports/plan.js';
import type { Storage } from '../storage/types.js';
import type { JobMetrics } from './attempt-metrics.js';
import type { JobLogger } from './log.js';
import type { JobStore } from './types.js';

export interface WorkerLimits {
  /** Rows and bytes one export may write (→ `export_too_large`). */
  maxRows: number;
  maxBytes: number;
  /** Longest run of one attempt (→ `job_timeout`). */
  timeoutMs: number;
  /** Attempts per job, crashed ones included; the last retryable failure fails the job. */
  attempts: number;
  leaseMs: number;
  /** How long finished files are kept. */
  fileTtlSeconds: number;
}

export interface WorkerContext {
  store: JobStore;
  storage: Storage;
  exports: ExportContext;
  limits: WorkerLimits;
  log?: JobLogger;
  /** Durations, rows, bytes and retries of attempts. */
  metrics?: JobMetrics;
  /** How often the lease is renewed, progress written and a cancel looked for, ms. Default 1000. */
  heartbeatMs?: number;
  /** How long a stopped attempt's lease is still renewed, ms. Default STOPPED_RENEWAL_MS (60 s). */
  stoppedRenewalMs?: number;
}
