import { type NotificationView, notificationsView } from '../notify/view.js';
import type { JobRecord } from './types.js';

/** A job as its owner sees it (HTTP, CLI `--json`): no storage key, lease, principal or hash. */
export interface JobView {
  id: string;
  status: JobRecord['status'];
  /** The dataset exported (none when the rows were handed over) and the file's format. */
  dataset?: string;
  format: string;
  attempt: number;
  created_at: string;
  started_at?: string;
  finished_at?: string;
  /** When the file's retention ends. */
  expires_at?: string;
  progress: { rows_written: number; rows_estimated?: number; bytes_written: number };
  result?: { filename: string; content_type: string; size_bytes: number; row_count: number; sha256: string };
  error?: { code: string; message: string; retryable: boolean };
  /** How the owner's webhook and email about this export went (when the owner asked for them). */
  notifications?: NotificationView[];
}

/**
 * The status its owner sees: past its retention a file is gone, though the sweeper may not
 * have marked the record `expired` yet (download and link answer 410 alike).
 */
export function visibleStatus(job: JobRecord, now = Date.now()): JobRecord['status'] {
  const expired = job.status === 'succeeded' && job.expiresAt !== undefined && job.expiresAt.getTime() <= now;
  return expired ? 'expired' : job.status;
}

export function jobView(job: JobRecord): JobView {
  const time = (date: Date | undefined) => date?.toISOString();
  const view: JobView = {
    id: job.id,
    status: visibleStatus(job),
    ...(typeof job.request.dataset === 'string' ? { dataset: job.request.dataset } : {}),
    format: String(job.request.format),
    attempt: job.attempt,
    created_at: job.createdAt.toISOString(),
    progress: {
      rows_written: job.progress.rowsWritten,
      ...(job.progress.rowsEstimated !== undefined ? { rows_estimated: job.progress.rowsEstimated } : {}),
      bytes_written: job.progress.bytesWritten,
    },
  };
  if (job.startedAt) view.started_at = time(job.startedAt)!;
  if (job.finishedAt) view.finished_at = time(job.finishedAt)!;
  if (job.expiresAt) view.expires_at = time(job.expiresAt)!;
  if (job.result) {
    const { filename, contentType, sizeBytes, rowCount, sha256 } = job.result;
    view.result = { filename, content_type: contentType, size_bytes: sizeBytes, row_count: rowCount, sha256 };
  }
  // Why it failed; for a queued job, why its last attempt failed (it is retried). A job that
  // runs again, was canceled or succeeded keeps the record's but shows none.
  if (job.error && (view.status === 'failed' || view.status === 'queued')) view.error = { ...job.error };
  if (job.deliveries) {
    const notifications = notificationsView(job.deliveries);
    if (notifications.length > 0) view.notifications = notifications;
  }
  return view;
}
