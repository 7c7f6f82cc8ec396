/**
 * Every TAKEOUT_* variable Takeout reads. A misspelt name (`TAKEOUT_WORKER`,
 * `TAKEOUT_QUEUE_PREFX`) is otherwise ignored without a word, and the process runs on the
 * default: a second worker in an API process, a queue shared with another deployment.
 * test/unit/operations-doc.test.ts keeps this list equal to the names the code reads.
 */
import { didYouMean } from './did-you-mean.js';

export const TAKEOUT_VARIABLES: readonly string[] = [
  'TAKEOUT_API_TOKENS',
  'TAKEOUT_BODY_LIMIT',
  'TAKEOUT_CONFIG',
  'TAKEOUT_DATABASE_SCHEMA',
  'TAKEOUT_DATA_DIR',
  'TAKEOUT_DEMO',
  'TAKEOUT_FILE_TTL',
  'TAKEOUT_HEADERS_TIMEOUT',
  'TAKEOUT_JOB_ATTEMPTS',
  'TAKEOUT_JOB_BACKOFF',
  'TAKEOUT_JOB_BACKOFF_MAX',
  'TAKEOUT_JOB_LEASE',
  'TAKEOUT_JOB_MAX_ACTIVE_PER_OWNER',
  'TAKEOUT_JOB_MAX_BYTES',
  'TAKEOUT_JOB_MAX_INPUT_BYTES',
  'TAKEOUT_JOB_MAX_ROWS',
  'TAKEOUT_JOB_TIMEOUT',
  'TAKEOUT_JWT_ALGORITHMS',
  'TAKEOUT_JWT_AUDIENCE',
  'TAKEOUT_JWT_CLOCK_TOLERANCE',
  'TAKEOUT_JWT_ISSUER',
  'TAKEOUT_JWT_JWKS_URL',
  'TAKEOUT_JWT_SECRET',
  'TAKEOUT_JWT_TENANT_CLAIM',
  'TAKEOUT_LINK_TTL',
  'TAKEOUT_MAIL_ALLOW',
  'TAKEOUT_MAIL_FROM',
  'TAKEOUT_METRICS_HOST',
  'TAKEOUT_METRICS_PORT',
  'TAKEOUT_METRICS_TOKEN',
  'TAKEOUT_NOTIFY_BACKOFF',
  'TAKEOUT_NOTIFY_BACKOFF_MAX',
  'TAKEOUT_NOTIFY_CONCURRENCY',
  'TAKEOUT_NOTIFY_PER_HOST',
  'TAKEOUT_NOTIFY_POLL',
  'TAKEOUT_NOTIFY_RETRY_FOR',
  'TAKEOUT_NOTIFY_TIMEOUT',
  'TAKEOUT_PG_POOL_MAX',
  'TAKEOUT_PUBLIC_URL',
  'TAKEOUT_QUEUE_LOCK',
  'TAKEOUT_QUEUE_NAME',
  'TAKEOUT_QUEUE_PREFIX',
  'TAKEOUT_QUEUE_STALLED_INTERVAL',
  'TAKEOUT_RATE_LIMIT',
  'TAKEOUT_RATE_LIMIT_PREFIX',
  'TAKEOUT_RATE_LIMIT_WINDOW',
  'TAKEOUT_RECORD_TTL',
  'TAKEOUT_REQUEST_TIMEOUT',
  'TAKEOUT_SECRET',
  'TAKEOUT_SHUTDOWN_GRACE',
  'TAKEOUT_SWEEP_INTERVAL',
  'TAKEOUT_SYNC_CONCURRENCY',
  'TAKEOUT_SYNC_FIRST_BYTE_TIMEOUT',
  'TAKEOUT_SYNC_IDLE_TIMEOUT',
  'TAKEOUT_SYNC_MAX_BYTES',
  'TAKEOUT_SYNC_MAX_CELLS',
  'TAKEOUT_SYNC_MAX_ROWS',
  'TAKEOUT_SYNC_PER_PRINCIPAL',
  'TAKEOUT_TOKEN',
  'TAKEOUT_URL',
  'TAKEOUT_WEBHOOK_ALLOW',
  'TAKEOUT_WEBHOOK_ALLOW_PRIVATE',
  'TAKEOUT_WEBHOOK_LEGACY_SIGNATURE',
  'TAKEOUT_WEBHOOK_SECRET',
  'TAKEOUT_WEBHOOK_URL',
  'TAKEOUT_WORKERS',
  'TAKEOUT_XLSX_DEFLATE',
];

/** What this repository's tests, benchmarks and CI read (never the service): not warned about. */
const REPOSITORY_ONLY = /^TAKEOUT_(TEST_|BENCH_|SCALE_|CHROMIUM$|NODE24_DIR$)/;

/**
 * One sentence per TAKEOUT_* variable of `env` that Takeout does not read, with the name it
 * was likely meant to be. Warned about, not refused: a newer setting given to an older
 * version while both run during a rolling upgrade must not stop the old one. `alsoRead`: names
 * the deployment reads besides (a dataset's `urlEnv` may be any name, TAKEOUT_ ones too).
 */
export function unknownTakeoutVariables(env: NodeJS.ProcessEnv, alsoRead: readonly string[] = []): string[] {
  return Object.keys(env)
    .filter(
      (name) =>
        name.startsWith('TAKEOUT_') &&
        !TAKEOUT_VARIABLES.includes(name) &&
        !alsoRead.includes(name) &&
        !REPOSITORY_ONLY.test(name),
    )
    .sort()
    .map(
      (name) =>
        `${name} is not a Takeout setting and is ignored${didYouMean(name, TAKEOUT_VARIABLES)} (docs/configuration.md)`,
    );
}
