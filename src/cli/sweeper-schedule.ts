/**
 * The sweeper of `takeout serve`: deletes files whose retention ended and tidies job records
 * (docs/jobs.md), now and then; errors are logged, never fatal. A pass never overlaps the
 * previous one.
 */
import type { JobLogger } from '../jobs/log.js';
import type { Service } from '../service.js';
import { incompleteAfterMsFor, sweepExpired } from '../storage/sweeper.js';

/**
 * The first pass comes a minute after start (or after one interval, if shorter), not a whole
 * interval (10 min) later: exports whose enqueue was lost before a restart, and jobs of a
 * worker that died with the process, are taken up again soon.
 */
export const FIRST_PASS_AFTER_SECONDS = 60;

/** Runs a pass every `seconds` (0: never); returns what stops it. */
export function scheduleSweeper(
  service: Pick<Service, 'storage' | 'jobs'>,
  seconds: number,
  jobTimeoutMs: number,
  log: JobLogger,
): () => void {
  if (seconds <= 0) return () => {};
  let busy = false;
  const pass = async () => {
    const files = await sweepExpired(service.storage, {
      // An export may upload for as long as its time limit: its upload is no leftover before.
      incompleteAfterMs: incompleteAfterMsFor(jobTimeoutMs),
      onError: (key, error) => log.warn({ key, code: error.code }, 'sweeper could not delete a file'),
    });
    if (files.deleted > 0) log.info({ ...files }, 'sweeper deleted expired files');
    const jobs = await service.jobs.sweep();
    if (Object.values(jobs).some((n: number) => n > 0)) log.info({ ...jobs }, 'sweeper tidied export jobs');
  };
  const run = () => {
    if (busy) return;
    busy = true;
    pass()
      .catch((error) => log.warn({ code: (error as { code?: string }).code }, 'sweeper failed'))
      .finally(() => {
        busy = false;
      });
  };
  const first = setTimeout(run, Math.min(seconds, FIRST_PASS_AFTER_SECONDS) * 1000);
  const timer = setInterval(run, seconds * 1000);
  first.unref();
  timer.unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
