/**
 * What `takeout serve` and `takeout worker` say once they stand: the deployment they joined
 * (queue, job store, storage, workers), and the settings that look wrong without being
 * invalid. Each of these was a silent failure seen by an operator: a worker without
 * STORAGE_URL wrote files no API process could serve; `TAKEOUT_QUEUE_PREFX` ran on another
 * deployment's queue.
 */

import type { ServiceConfig } from '../config.js';
import { datasetVariables } from '../datasets/preflight.js';
import { unknownTakeoutVariables } from '../env-names.js';
import { BULLMQ_DEFAULTS } from '../jobs/queue/bullmq-options.js';
import type { Service } from '../service.js';
import { takeoutVersion } from '../version.js';

/** Where this process's jobs, deliveries and files are: logged with its start line. */
export function deploymentOf(config: ServiceConfig, service: Service): Record<string, unknown> {
  const { jobs, storage } = config;
  return {
    version: takeoutVersion(),
    jobStore: jobs.databaseUrl ? 'postgres' : 'sqlite',
    queue: service.jobs.queue.kind,
    ...(jobs.redisUrl
      ? {
          queueName: jobs.bullmq.name ?? BULLMQ_DEFAULTS.name,
          queuePrefix: jobs.bullmq.prefix ?? BULLMQ_DEFAULTS.prefix,
        }
      : {}),
    workers: jobs.workers,
    storage:
      storage.location.kind === 's3'
        ? `s3://${storage.location.bucket}/${storage.location.prefix ?? ''}`
        : `file://${storage.location.root}`,
  };
}

/**
 * Warnings about the configuration; none when it looks as meant. Computed from what the
 * service already loaded, before the process listens: a warning never fails a start.
 */
export function configWarnings(
  config: ServiceConfig,
  service: Service,
  env: NodeJS.ProcessEnv,
  role: 'serve' | 'worker',
): string[] {
  const warnings = unknownTakeoutVariables(env, datasetVariables(service.exports.datasets.all()));
  // With Redis this is one of several processes: files on this machine's disk, by default,
  // are only served by the processes that see that directory (a file: STORAGE_URL given on
  // purpose may well be a shared mount).
  if (config.jobs.redisUrl && !env.STORAGE_URL && config.storage.location.kind === 'file') {
    warnings.push(
      `STORAGE_URL is not set: ${role === 'worker' ? 'this worker writes' : 'files are written'} to ${config.storage.location.root} on this machine, which API and worker processes elsewhere cannot read (their downloads fail); set STORAGE_URL to the deployment's S3 bucket, or share that directory`,
    );
  }
  warnings.push(...notifyWarnings(config.notify));
  return warnings;
}

/**
 * Notifications this process would hold back for good, and the upgrade setting left on.
 * Allow lists are checked again when a delivery is sent: a worker started without the API
 * processes' lists retries owners' webhooks and emails until they fail, and says so only then.
 */
function notifyWarnings(notify: ServiceConfig['notify']): string[] {
  const warnings: string[] = [];
  if (notify.webhookSecrets.length > 0 && !notify.webhookUrl && notify.webhookAllow.length === 0) {
    warnings.push(
      "TAKEOUT_WEBHOOK_SECRET is set but TAKEOUT_WEBHOOK_ALLOW is empty (and there is no TAKEOUT_WEBHOOK_URL): this process sends no webhook; owners' webhooks are checked against the list again when sent, so give it the API processes' TAKEOUT_WEBHOOK_ALLOW",
    );
  }
  if (notify.smtpUrl && Array.isArray(notify.mailAllow) && notify.mailAllow.length === 0) {
    warnings.push(
      "SMTP_URL is set but TAKEOUT_MAIL_ALLOW is empty: this process sends no email; owners' addresses are checked against the list again when sent, so give it the API processes' TAKEOUT_MAIL_ALLOW",
    );
  }
  if (notify.webhookLegacySignature) {
    warnings.push(
      "TAKEOUT_WEBHOOK_LEGACY_SIGNATURE is on: owners' webhooks also carry the service secret's signature, which an owner holding that secret could forge; turn it off once owners' receivers verify with GET /v1/webhook-secret",
    );
  }
  return warnings;
}
