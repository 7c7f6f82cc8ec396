import type { ServiceConfig } from '../config.js';
import { BULLMQ_DEFAULTS } from '../jobs/queue/bullmq-options.js';

/** How long after the shutdown grace a process still held up exits anyway. */
const SHUTDOWN_MARGIN_MS = 3000;

/**
 * The longest a process running `config`'s workers may take to close after SIGTERM: the grace
 * its running exports get, the time BullMQ gives aborted handlers to settle, and a margin.
 * Without workers (sync exports stop at once) closing takes about a second. `graceEnded`: from
 * a second signal on, which ends the grace.
 */
export function shutdownLimitMs(config: ServiceConfig, options: { graceEnded?: boolean } = {}): number {
  if (config.jobs.workers <= 0) return SHUTDOWN_MARGIN_MS;
  const settle = config.jobs.redisUrl ? BULLMQ_DEFAULTS.abortSettleMs : 0;
  const grace = options.graceEnded ? 0 : config.jobs.shutdownGraceMs;
  return grace + settle + SHUTDOWN_MARGIN_MS;
}

/**
 * Exits the process with 1 in `ms` should it still be running then: something that ignored
 * its abort (a source stuck in a read, a store that never answers) must not keep a stopping
 * process alive. The timer itself holds nothing.
 */
export function exitIfStillRunning(ms: number, log: { error(message: string): void }): void {
  setTimeout(
    () => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    },
    // A timer past 2^31 - 1 ms would fire at once.
    Math.min(ms, 2 ** 31 - 1),
  ).unref();
}
