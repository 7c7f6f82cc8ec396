/**
 * What `takeout export --async` says while it waits: a job's progress (a bar on a terminal, a
 * line now and then in a log) and the retries of a request the service did not answer.
 */
import type { EstimatedProgress } from './progress.js';
import { progressBarLine } from './progress.js';
import { FINISHED, type RemoteJob } from './remote-client.js';
import { waitText } from './remote-retry.js';
import type { CliIo } from './usage.js';

export function progressOf(job: RemoteJob): EstimatedProgress {
  const started = job.started_at ? Date.parse(job.started_at) : Date.now();
  const ended = job.finished_at ? Date.parse(job.finished_at) : Date.now();
  return {
    rows: job.progress.rows_written,
    bytes: job.progress.bytes_written,
    elapsedMs: Math.max(0, ended - started),
    done: FINISHED.includes(job.status),
    ...(job.progress.rows_estimated !== undefined ? { estimated: job.progress.rows_estimated } : {}),
  };
}

/** Off a terminal (a CI log) the bar would be nothing: a plain line every so often instead. */
export const PROGRESS_LOG_EVERY_MS = 10_000;

/**
 * A line for a log: when the job's status changes, and while it runs, at most every
 * PROGRESS_LOG_EVERY_MS (`exp_... running: [####....]  41% · 410,000 rows · …`). The final
 * state has a line of its own.
 */
export function progressLog(
  stderr: CliIo['stderr'],
  status: string,
  everyMs = PROGRESS_LOG_EVERY_MS,
): (job: RemoteJob) => void {
  let lastStatus = status;
  let lastAt = Date.now();
  let lastRows = 0;
  return (job) => {
    if (FINISHED.includes(job.status)) return;
    const now = Date.now();
    const rows = job.progress.rows_written;
    const changed = job.status !== lastStatus;
    if (!changed && (now - lastAt < everyMs || rows === lastRows)) return;
    lastStatus = job.status;
    lastAt = now;
    lastRows = rows;
    const progress = job.status === 'running' ? `: ${progressBarLine(progressOf(job))}` : '';
    stderr.write(`${job.id} ${job.status}${progress}\n`);
  };
}

/** Tells the user, on stderr, that a request failed and is tried again. */
export function retryNotes(stderr: CliIo['stderr']): (reason: string, waitMs: number) => void {
  const tty = (stderr as { isTTY?: boolean }).isTTY === true;
  return (reason, waitMs) => {
    // On a terminal the progress bar's line is cleared first; it is drawn again with the next event.
    stderr.write(`${tty ? '\r\x1b[2K' : ''}takeout: ${reason}; trying again in ${waitText(waitMs)}\n`);
  };
}
