/**
 * Options of the BullMQ queue, their defaults, their validation and the job options they
 * become. Apart from bullmq.ts so that configuration code can read them without loading bullmq.
 */
import { checkTimerSeconds } from '../../durations.js';
import { TakeoutError } from '../../errors.js';
import { parseDuration } from '../../storage/config.js';
import { refuseUnknownOptions } from '../../unknown-options.js';
import { type BackoffOptions, DEFAULT_BACKOFF, validateBackoff } from './backoff.js';
import type { QueueLogger } from './redis.js';

/** How many finished entries BullMQ keeps, and for how long (whichever is fewer). */
export interface Retention {
  ageSeconds: number;
  count: number;
}

export interface BullmqQueueOptions {
  /** `redis://` or `rediss://` URL (REDIS_URL). */
  url: string;
  /** Queue name (default `takeout-exports`); producers and workers must agree. */
  name?: string;
  /** Prefix of every Redis key of the queue (default `takeout`). */
  prefix?: string;
  /** Deliveries of an id, the first included, before a retryable error fails it (default 5). */
  attempts?: number;
  /** Delay before each retry: exponential from baseMs, capped at maxMs, with jitter. */
  backoff?: BackoffOptions;
  /** Finished entries kept for inspection (default 1 day, at most 1,000). */
  keepCompleted?: Retention;
  /** Failed entries kept (default 7 days, at most 10,000). */
  keepFailed?: Retention;
  /** Lock a running delivery holds, renewed every half of it (default 30 s). */
  lockDurationMs?: number;
  /** How often workers look for deliveries whose lock expired (default 30 s). */
  stalledIntervalMs?: number;
  /** Times a delivery may be recovered from a dead worker before BullMQ fails it (default 2). */
  maxStalledCount?: number;
  /** After close aborted the handlers, the longest it waits for them to settle (default 10 s). */
  abortSettleMs?: number;
  /** Longest wait for Redis at start before giving up with `queue_error` (default 10 s). */
  connectTimeoutMs?: number;
  logger?: QueueLogger;
}

/**
 * What errors call the Redis URL: the variable it came from, or the option of `bullmqQueue`
 * when a library caller gave it (they never set REDIS_URL, and would look for it in vain).
 */
export type RedisUrlLabel = 'REDIS_URL' | "bullmqQueue's url";

/** Every option bullmqQueue takes: any other key is refused (a typo would run on a default). */
const OPTION_NAMES: readonly (keyof BullmqQueueOptions)[] = [
  'url',
  'name',
  'prefix',
  'attempts',
  'backoff',
  'keepCompleted',
  'keepFailed',
  'lockDurationMs',
  'stalledIntervalMs',
  'maxStalledCount',
  'abortSettleMs',
  'connectTimeoutMs',
  'logger',
];

export const BULLMQ_DEFAULTS = {
  name: 'takeout-exports',
  prefix: 'takeout',
  attempts: 5,
  keepCompleted: { ageSeconds: 24 * 3600, count: 1000 },
  keepFailed: { ageSeconds: 7 * 24 * 3600, count: 10_000 },
  lockDurationMs: 30_000,
  stalledIntervalMs: 30_000,
  /** Unless given: `attempts` (resolveBullmqSettings). */
  maxStalledCount: 5,
  abortSettleMs: 10_000,
  connectTimeoutMs: 10_000,
} as const;

/** close() without a grace period waits this long before aborting the handlers. */
export const DEFAULT_CLOSE_GRACE_MS = 30_000;

const TIMER_MAX_MS = 2 ** 31 - 1;

export type BullmqSettings = Required<Omit<BullmqQueueOptions, 'url' | 'logger'>>;

export function resolveBullmqSettings(options: BullmqQueueOptions): BullmqSettings {
  if (typeof options !== 'object' || options === null || typeof options.url !== 'string') {
    throw new TakeoutError(
      'config_error',
      "bullmqQueue needs options with a url: { url: 'redis://127.0.0.1:6379/0' }",
    );
  }
  refuseUnknownOptions('bullmqQueue', options, OPTION_NAMES);
  const { url: _url, logger: _logger, ...given } = options;
  const defined = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined));
  const settings: BullmqSettings = { ...BULLMQ_DEFAULTS, backoff: DEFAULT_BACKOFF, ...defined };
  // A recovered delivery claims the job again, and the job's record fails it once its attempts
  // are used up: BullMQ failing the entry first would leave the record running, with nothing
  // to run it, until the sweeper came by.
  if (defined.maxStalledCount === undefined) settings.maxStalledCount = settings.attempts;
  validateBackoff(settings.backoff);
  for (const [name, value] of Object.entries(settings)) {
    if (
      typeof value === 'number' &&
      (!Number.isInteger(value) || value < (name === 'maxStalledCount' ? 0 : 1))
    ) {
      throw new TakeoutError('config_error', `The queue setting ${name} must be a positive integer`);
    }
    // A Node timer waits for each of these: a longer delay fires at once, over and over.
    if (typeof value === 'number' && name.endsWith('Ms') && value > TIMER_MAX_MS) {
      throw new TakeoutError('config_error', `The queue setting ${name} must be at most 24 days`);
    }
  }
  return settings;
}

/**
 * The database `REDIS_URL` names (its path `/N`, or `?db=N`; 0 without either). Checked here:
 * ioredis reads `/abc` as 0, and `/5x` as 5.
 */
export function redisDatabase(url: string, label: RedisUrlLabel = 'REDIS_URL'): number {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TakeoutError('config_error', `${label} is not a URL (redis://host:port/db)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new TakeoutError('config_error', `${label} must start with redis:// or rediss://`);
  }
  const path = parsed.pathname.replace(/^\//, '');
  const text = path !== '' ? path : (parsed.searchParams.get('db') ?? '0');
  if (!/^\d{1,9}$/.test(text)) {
    throw new TakeoutError(
      'config_error',
      `${label} names its database as a whole number (redis://host:port/0; 0 to 15 by default)`,
    );
  }
  return Number(text);
}

/** The queue's settings from the environment (docs/configuration.md); unset ones keep their defaults. */
export type BullmqEnvSettings = Pick<
  BullmqQueueOptions,
  'name' | 'prefix' | 'lockDurationMs' | 'stalledIntervalMs'
>;

export function bullmqSettingsFromEnv(env: NodeJS.ProcessEnv): BullmqEnvSettings {
  const settings: BullmqEnvSettings = {};
  const name = env.TAKEOUT_QUEUE_NAME;
  const prefix = env.TAKEOUT_QUEUE_PREFIX;
  for (const [variable, value] of [
    ['TAKEOUT_QUEUE_NAME', name],
    ['TAKEOUT_QUEUE_PREFIX', prefix],
  ] as const) {
    if (value !== undefined && value !== '' && !/^[\w.:-]{1,100}$/.test(value)) {
      throw new TakeoutError('config_error', `${variable} may hold letters, digits and _ . : - only`);
    }
  }
  if (name) settings.name = name;
  if (prefix) settings.prefix = prefix;
  if (env.TAKEOUT_QUEUE_LOCK) {
    settings.lockDurationMs = atLeastOneSecond(env.TAKEOUT_QUEUE_LOCK, 'TAKEOUT_QUEUE_LOCK');
  }
  if (env.TAKEOUT_QUEUE_STALLED_INTERVAL) {
    settings.stalledIntervalMs = atLeastOneSecond(
      env.TAKEOUT_QUEUE_STALLED_INTERVAL,
      'TAKEOUT_QUEUE_STALLED_INTERVAL',
    );
  }
  return settings;
}

/** Timers wait for these (lock renewal, the stalled check): at most 24 days. */
function atLeastOneSecond(text: string, name: string): number {
  const seconds = parseDuration(text, name);
  if (seconds < 1) throw new TakeoutError('config_error', `${name} must be at least 1 second`);
  return checkTimerSeconds(seconds, name) * 1000;
}

/** BullMQ's lowest priority. */
const MAX_PRIORITY = 2_097_152;

/** A BullMQ priority for a queue rank: none for 0 (or no rank), else the rank, capped. */
export function priority(rank: number | undefined): number | undefined {
  if (rank === undefined || !Number.isFinite(rank) || rank < 1) return undefined;
  return Math.min(Math.trunc(rank), MAX_PRIORITY);
}

/** BullMQ's `removeOnComplete` / `removeOnFail` for a retention. */
export function keep(retention: Retention): { age: number; count: number } {
  return { age: retention.ageSeconds, count: retention.count };
}
