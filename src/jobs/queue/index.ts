import type { JobSettings } from '../config.js';
import type { JobLogger } from '../log.js';
import type { JobStore } from '../types.js';
import { embeddedQueue } from './embedded.js';
import type { ExportQueue } from './types.js';

/**
 * Deliveries a queue makes beyond the job's attempts. The job's record counts its attempts
 * (each claim) and fails it past TAKEOUT_JOB_ATTEMPTS; a delivery that failed before it could
 * claim (the job store down for a moment) counts only for the queue, which would otherwise give
 * the job up one retry early and leave its record queued until the sweeper came by.
 */
const UNCLAIMED_DELIVERIES = 2;

/** The deliveries a queue makes of a job allowed `jobAttempts` attempts. */
export function queueAttempts(jobAttempts: number): number {
  return jobAttempts + UNCLAIMED_DELIVERIES;
}

/** The configured queue: BullMQ with REDIS_URL (bullmq loaded only then), else the embedded one. */
export async function openQueue(
  settings: JobSettings,
  store: JobStore,
  log?: JobLogger,
): Promise<ExportQueue> {
  if (settings.redisUrl) {
    const { openBullmqQueue } = await import('./bullmq.js');
    return openBullmqQueue(
      {
        ...settings.bullmq,
        url: settings.redisUrl,
        attempts: queueAttempts(settings.attempts),
        backoff: settings.backoff,
        ...(log ? { logger: log } : {}),
      },
      'REDIS_URL',
    );
  }
  return embeddedQueue({
    store,
    maxAttempts: queueAttempts(settings.attempts),
    backoff: settings.backoff,
    ...(log
      ? { onError: (error) => log.warn({ error: String(error) }, 'the embedded queue could not read jobs') }
      : {}),
  });
}
