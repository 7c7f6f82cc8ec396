/**
 * An export's status as the page shows it. A job document is a snapshot: a file whose
 * `expires_at` has passed since is gone (its link answers 410), so it is shown as expired.
 */
import type { JobDocument, JobStatus } from './api.js';

/** setTimeout's longest delay; a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function shownStatus(job: JobDocument, now = Date.now()): JobStatus {
  if (job.status === 'succeeded' && job.expires_at && Date.parse(job.expires_at) <= now) return 'expired';
  return job.status;
}

/**
 * Milliseconds until a ready file expires (capped at what a timer can wait: the caller
 * looks again then), or undefined when it has no expiry ahead.
 */
export function msUntilExpiry(job: JobDocument, now = Date.now()): number | undefined {
  if (shownStatus(job, now) !== 'succeeded' || !job.expires_at) return undefined;
  return Math.min(MAX_TIMER_MS, Math.max(0, Date.parse(job.expires_at) - now));
}
