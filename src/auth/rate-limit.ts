import type { Redis } from 'ioredis';
import { wholeNumber } from '../env-numbers.js';
import { TakeoutError } from '../errors.js';
import { parseDuration } from '../storage/config.js';

/** Requests one principal may make per window (docs/configuration.md, "Rate limit"). */
export interface RateLimitSettings {
  /** Requests per window; 0 turns the limit off (`TAKEOUT_RATE_LIMIT`). */
  max: number;
  /** The window, ms (`TAKEOUT_RATE_LIMIT_WINDOW`). */
  windowMs: number;
  /** With `REDIS_URL` the counts live in Redis, so they hold across API processes. */
  redisUrl: string | undefined;
  /** Prefix of the Redis keys (`TAKEOUT_RATE_LIMIT_PREFIX`), for deployments sharing a Redis. */
  keyPrefix: string;
}

/** A per-principal request limit for Takeout's API routes. */
export interface RateLimitOptions {
  /** Requests per window per principal. */
  max: number;
  windowMs: number;
  /** Keep the counts in Redis (shared by every API process) instead of this process's memory. */
  redis?: Redis;
  /** True while `redis` is known not to answer: requests then skip the limit without asking it. */
  redisAway?: () => boolean;
  /** Prefix of the Redis keys. Default `takeout:rate:`. */
  keyPrefix?: string;
}

export const DEFAULT_RATE_LIMIT = 600;
export const DEFAULT_RATE_LIMIT_WINDOW_MS = 60_000;

export function rateLimitSettingsFromEnv(env: NodeJS.ProcessEnv): RateLimitSettings {
  const raw = env.TAKEOUT_RATE_LIMIT;
  const max = raw === undefined || raw === '' ? DEFAULT_RATE_LIMIT : (wholeNumber(raw) ?? Number.NaN);
  if (!(max >= 0)) {
    throw new TakeoutError(
      'config_error',
      'TAKEOUT_RATE_LIMIT must be a whole number of requests (0 = no limit)',
    );
  }
  const window = env.TAKEOUT_RATE_LIMIT_WINDOW;
  const seconds = window
    ? parseDuration(window, 'TAKEOUT_RATE_LIMIT_WINDOW')
    : DEFAULT_RATE_LIMIT_WINDOW_MS / 1000;
  if (seconds < 1)
    throw new TakeoutError('config_error', 'TAKEOUT_RATE_LIMIT_WINDOW must be at least 1 second');
  return {
    max,
    windowMs: seconds * 1000,
    redisUrl: env.REDIS_URL || undefined,
    keyPrefix: env.TAKEOUT_RATE_LIMIT_PREFIX || 'takeout:rate:',
  };
}
