import { pino } from 'pino';
import { loadConfig } from '../config.js';
import { TakeoutError } from '../errors.js';
import { warnIfIsalBroken } from '../formats/xlsx/deflate.js';
import { startMetricsServer } from '../http/metrics-server.js';
import { loggerOptions } from '../logging.js';
import { createService } from '../service.js';
import { exitIfStillRunning, shutdownLimitMs } from './exit-timer.js';
import { onShutdownSignals } from './shutdown-signals.js';
import { configWarnings, deploymentOf } from './start-lines.js';
import { type CliIo, unknownArgument } from './usage.js';

export const WORKER_USAGE = `Usage: takeout worker

Runs background export workers only (no HTTP API), taking jobs from the BullMQ queue that
the API processes (takeout serve) fill. Settings come from the environment
(docs/configuration.md, docs/queue.md):
  REDIS_URL                  redis://... the queue (required)
  DATABASE_URL               postgres://... the job store, shared with the API processes
  TAKEOUT_WORKERS            exports run at once in this process (default 2)
  TAKEOUT_SHUTDOWN_GRACE     on SIGTERM, how long running exports may finish before they are
                             handed to another worker (default 30s; a second SIGTERM ends it)
  TAKEOUT_QUEUE_NAME, TAKEOUT_QUEUE_PREFIX, TAKEOUT_QUEUE_LOCK, TAKEOUT_QUEUE_STALLED_INTERVAL
  TAKEOUT_METRICS_PORT       serve /metrics, /healthz and /readyz on this port (default: none)
  TAKEOUT_METRICS_HOST       ... on this address (default 127.0.0.1)
  TAKEOUT_METRICS_TOKEN      bearer token of GET /metrics (default: none needed)
  STORAGE_URL, TAKEOUT_CONFIG, TAKEOUT_JOB_*, LOG_LEVEL   as for takeout serve
  TAKEOUT_WEBHOOK_*, SMTP_URL, TAKEOUT_MAIL_FROM, TAKEOUT_PUBLIC_URL, TAKEOUT_NOTIFY_*
                             notifications this worker sends (docs/notifications.md)`;

/** `takeout worker`: runs export jobs until SIGTERM/SIGINT, then hands back what is unfinished. */
export async function workerCommand(argv: string[], io: CliIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(`${WORKER_USAGE}\n`);
    return 0;
  }
  // Configured by the environment alone: an argument is a mistake (a flag of serve, a typo).
  if (argv[0] !== undefined) throw unknownArgument(argv[0], 'worker');
  const config = loadConfig(io.env);
  if (!config.jobs.redisUrl) {
    throw new TakeoutError(
      'config_error',
      'takeout worker needs REDIS_URL: without Redis the embedded queue runs inside takeout serve',
    );
  }
  if (config.jobs.workers < 1) {
    throw new TakeoutError('config_error', 'TAKEOUT_WORKERS must be at least 1 for takeout worker');
  }
  // Every line is scrubbed of secrets (src/logging.ts).
  const { stream, ...options } = loggerOptions(config.logLevel, io.env, io.stderr);
  const log = pino({ ...options, base: { pid: process.pid } }, stream);
  const service = await createService(config, { env: io.env, log });
  // Said once the service stands: a refusal to start is the only line of a worker that does not.
  if (!config.jobs.databaseUrl) {
    log.warn(
      'DATABASE_URL is not set: jobs are kept in SQLite in TAKEOUT_DATA_DIR, which only processes on this machine share',
    );
  }
  let metrics: Awaited<ReturnType<typeof startMetricsServer>> | undefined;
  try {
    await service.jobs.startWorker({ concurrency: config.jobs.workers });
    if (config.metrics.port !== undefined) {
      metrics = await startMetricsServer(service, 'worker', config.metrics.port, log);
    }
  } catch (error) {
    await service.close();
    throw error;
  }
  log.info(
    { ...deploymentOf(config, service), metrics: metrics?.url, xlsxDeflate: config.xlsxDeflate },
    'takeout worker is running',
  );
  for (const warning of configWarnings(config, service, io.env, 'worker')) log.warn(warning);
  warnIfIsalBroken(log);
  await new Promise<void>((resolve) => {
    const stopListening = onShutdownSignals(
      {
        stop: (signal) => {
          log.info({ signal, graceMs: config.jobs.shutdownGraceMs }, 'shutting down');
          exitIfStillRunning(shutdownLimitMs(config), log);
          // A stopping worker is not ready (`/readyz` 503), but its metrics and probes answer
          // until its jobs have finished or been handed back.
          metrics?.markStopping();
          service
            .close()
            .catch((error: unknown) => log.error({ error: String(error) }, 'shutdown failed'))
            .then(() => metrics?.app.close())
            .catch(() => {})
            .then(() => {
              stopListening();
              resolve();
            });
        },
        hurry: () => {
          exitIfStillRunning(shutdownLimitMs(config, { graceEnded: true }), log);
          service.jobs.endShutdownGrace();
        },
      },
      log,
    );
  });
  log.info('stopped');
  return 0;
}
