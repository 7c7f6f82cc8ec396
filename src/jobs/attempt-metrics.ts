/** What one job attempt adds to the metrics: its duration by outcome, and the rows and bytes it wrote. */
import type { AttemptOutcome, TakeoutMetrics } from '../metrics.js';
import type { JobRecord } from './types.js';

export type JobMetrics = Pick<TakeoutMetrics, 'jobDuration' | 'rowsWritten' | 'bytesWritten' | 'jobRetries'>;

export class AttemptMetrics {
  readonly #started = performance.now();
  readonly #format: string;

  constructor(
    readonly metrics: JobMetrics | undefined,
    job: JobRecord,
  ) {
    this.#format = typeof job.request.format === 'string' ? job.request.format : 'unknown';
  }

  ended(outcome: AttemptOutcome, written?: { rows: number; bytes: number }, code?: string): void {
    const { metrics } = this;
    if (!metrics) return;
    const format = this.#format;
    metrics.jobDuration.observe({ format, outcome }, (performance.now() - this.#started) / 1000);
    if (written) {
      metrics.rowsWritten.inc({ path: 'job', format }, written.rows);
      metrics.bytesWritten.inc({ path: 'job', format }, written.bytes);
    }
    if (outcome === 'retried') metrics.jobRetries.inc({ code: code ?? 'unknown' });
  }
}

/**
 * The outcome the store recorded, for the metrics: an update also ends in `canceled` when a
 * cancel came meanwhile, and in nothing when the job is no longer this attempt's.
 */
export function outcomeRecorded(record: JobRecord | undefined, intended: AttemptOutcome): AttemptOutcome {
  if (!record) return 'lost';
  return record.status === 'canceled' ? 'canceled' : intended;
}
