/** Settings of background jobs, from the environment (docs/configuration.md, docs/jobs.md). */

import { checkRetentionSeconds, checkTimerSeconds, durationMs } from '../durations.js';
import { wholeNumber } from '../env-numbers.js';
import { TakeoutError } from '../errors.js';
import { parseDuration } from '../storage/config.js';
import { type BackoffOptions, DEFAULT_BACKOFF } from './queue/backoff.js';
import { type BullmqEnvSettings, bullmqSettingsFromEnv, redisDatabase } from './queue/bullmq-options.js';
import { SCHEMA_IDENTIFIER, SCHEMA_RULE } from './store/schema-name.js';

export interface JobSettings {
  /** `postgres://...` for the PostgreSQL job store; unset: SQLite in the data directory. */
  databaseUrl: string | undefined;
  /** PostgreSQL schema of the job tables (default: the connection's search_path). */
  databaseSchema: string | undefined;
  /** `redis://...`: BullMQ instead of the embedded queue. */
  redisUrl: string | undefined;
  /** BullMQ's queue name, key prefix and lock timing (TAKEOUT_QUEUE_*; docs/queue.md). */
  bullmq: BullmqEnvSettings;
  /** Jobs one worker process runs at once; 0 in `takeout serve` runs no worker. */
  workers: number;
  /** Queued + running jobs one owner may have; more get `429 too_many_exports`. */
  maxActivePerOwner: number;
  /** Rows and bytes one export may write. */
  maxRows: number;
  maxBytes: number;
  /** Largest staged inline rows (uncompressed NDJSON bytes). */
  maxInputBytes: number;
  /** Longest run of one attempt, ms (→ `job_timeout`). */
  timeoutMs: number;
  /** Attempts per job, retries of retryable failures included. */
  attempts: number;
  /** Waits before retries (TAKEOUT_JOB_BACKOFF, doubling up to TAKEOUT_JOB_BACKOFF_MAX), both queues. */
  backoff: BackoffOptions;
  /** How long a worker's claim lasts without renewal, ms (a crashed worker's jobs return after it). */
  leaseMs: number;
  /** On shutdown, how long running jobs may finish before they are handed back, ms. */
  shutdownGraceMs: number;
  /** How long finished job records are kept, seconds. */
  recordTtlSeconds: number;
}

const GiB = 1024 ** 3;

function count(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = wholeNumber(raw) ?? Number.NaN;
  if (!(n >= min)) {
    throw new TakeoutError('config_error', `${name} must be an integer of at least ${min}`);
  }
  return n;
}

function seconds(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1): number {
  const raw = env[name];
  const value = raw ? parseDuration(raw, name) : fallback;
  if (value < min) throw new TakeoutError('config_error', `${name} must be at least ${min} second(s)`);
  return value;
}

/** A duration a timer waits for (a lease, a job's time limit, the shutdown grace). */
function timerSeconds(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1): number {
  return checkTimerSeconds(seconds(env, name, fallback, min), name);
}

/** Retry waits: long enough by default that a retry outlasts a database or storage blip. */
function backoffFromEnv(env: NodeJS.ProcessEnv): BackoffOptions {
  const baseMs = durationMs(env, 'TAKEOUT_JOB_BACKOFF', DEFAULT_BACKOFF.baseMs, 0);
  const maxMs = durationMs(env, 'TAKEOUT_JOB_BACKOFF_MAX', Math.max(baseMs, DEFAULT_BACKOFF.maxMs), 0);
  if (maxMs < baseMs)
    throw new TakeoutError('config_error', 'TAKEOUT_JOB_BACKOFF_MAX must be at least TAKEOUT_JOB_BACKOFF');
  return { baseMs, maxMs };
}

export function jobSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): JobSettings {
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new TakeoutError(
      'config_error',
      'DATABASE_URL must be a postgres:// URL (unset: SQLite in TAKEOUT_DATA_DIR)',
    );
  }
  const databaseSchema = env.TAKEOUT_DATABASE_SCHEMA || undefined;
  // Checked here too: the store's own check cannot name the variable.
  if (databaseSchema !== undefined && !SCHEMA_IDENTIFIER.test(databaseSchema)) {
    throw new TakeoutError('config_error', `TAKEOUT_DATABASE_SCHEMA must be ${SCHEMA_RULE}`);
  }
  const redisUrl = env.REDIS_URL || undefined;
  if (redisUrl) redisDatabase(redisUrl);
  const leaseMs = timerSeconds(env, 'TAKEOUT_JOB_LEASE', 30, 2) * 1000;
  return {
    databaseUrl,
    databaseSchema,
    redisUrl,
    bullmq: bullmqSettingsFromEnv(env),
    workers: count(env, 'TAKEOUT_WORKERS', 2, 0),
    maxActivePerOwner: count(env, 'TAKEOUT_JOB_MAX_ACTIVE_PER_OWNER', 10, 1),
    maxRows: count(env, 'TAKEOUT_JOB_MAX_ROWS', 50_000_000, 1),
    maxBytes: count(env, 'TAKEOUT_JOB_MAX_BYTES', 20 * GiB, 1),
    maxInputBytes: count(env, 'TAKEOUT_JOB_MAX_INPUT_BYTES', 256 * 1024 ** 2, 1),
    timeoutMs: timerSeconds(env, 'TAKEOUT_JOB_TIMEOUT', 3600) * 1000,
    attempts: count(env, 'TAKEOUT_JOB_ATTEMPTS', 3, 1),
    backoff: backoffFromEnv(env),
    leaseMs,
    shutdownGraceMs: timerSeconds(env, 'TAKEOUT_SHUTDOWN_GRACE', 30, 0) * 1000,
    recordTtlSeconds: checkRetentionSeconds(
      seconds(env, 'TAKEOUT_RECORD_TTL', 30 * 86_400),
      'TAKEOUT_RECORD_TTL',
    ),
  };
}
