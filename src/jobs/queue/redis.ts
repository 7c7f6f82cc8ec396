/**
 * Redis connections for the BullMQ queue: one client per role with the reconnect behaviour
 * that role needs, and the start-up check that Redis will not evict queue keys.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { TakeoutError } from '../../errors.js';
import { type RedisUrlLabel, redisDatabase } from './bullmq-options.js';

/** What the queue logs through; a pino (Fastify) logger fits. */
export interface QueueLogger {
  warn(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

export const consoleQueueLogger: QueueLogger = {
  warn: (details, message) => console.warn(message, details),
  error: (details, message) => console.error(message, details),
};

/**
 * `producer` adds deliveries; `worker` consumes them (BullMQ adds a blocking duplicate);
 * `limiter` counts requests for the rate limit.
 */
export type RedisRole = 'producer' | 'worker' | 'limiter';

/**
 * How long a command may wait for Redis's answer. A Redis that stops answering with its
 * connection still open (paused, swapping, a network path that drops packets) is never noticed
 * by ioredis without one: every command would wait on it, and with them every HTTP request
 * that asks the rate limit, and every job creation. The worker's client has none: BullMQ's
 * blocking commands wait on purpose, and its lock renewal notices a silent Redis on its own.
 */
export const REDIS_COMMAND_TIMEOUT_MS: Record<RedisRole, number | undefined> = {
  limiter: 500,
  producer: 2000,
  worker: undefined,
};

/** Reconnect at once after a blip, then back off to at most 5 s between tries, forever. */
function reconnectDelay(times: number): number {
  return Math.min(times * 250, 5000);
}

/**
 * Refuses a database this Redis does not have. ioredis only logs a failed SELECT and goes on
 * in database 0, where the queue would mix with other keys. An unreachable Redis is left to
 * the queue's own start-up check.
 */
export async function checkRedisDatabase(
  url: string,
  timeoutMs = 5000,
  label: RedisUrlLabel = 'REDIS_URL',
): Promise<void> {
  const db = redisDatabase(url, label);
  if (db === 0) return;
  const bare = new URL(url);
  bare.pathname = '';
  bare.searchParams.delete('db');
  const client = new Redis(bare.href, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectionName: 'takeout-check',
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.select(db);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/DB index|invalid DB/i.test(message)) {
      const count = await databaseCount(client);
      throw new TakeoutError(
        'config_error',
        `${label} names database ${db}, which this Redis does not have (${message}): ${count === undefined ? 'use 0 to 15, or what its "databases" setting allows' : `it has databases 0 to ${count - 1}`}`,
      );
    }
  } finally {
    client.disconnect();
  }
}

/** Redis's `databases` setting, when CONFIG GET is allowed (managed services often refuse it). */
async function databaseCount(client: Redis): Promise<number | undefined> {
  try {
    const reply = (await client.config('GET', 'databases')) as unknown;
    const count = Array.isArray(reply) ? Number(reply[1]) : Number.NaN;
    return Number.isInteger(count) && count > 0 ? count : undefined;
  } catch {
    return undefined;
  }
}

export function redisClient(url: string, role: RedisRole): Redis {
  redisDatabase(url);
  const options: RedisOptions = {
    connectionName: `takeout-${role}`,
    retryStrategy: reconnectDelay,
    // A worker waits out a Redis restart (BullMQ requires null for its blocking commands);
    // a producer gives up after a few reconnects, so an enqueue cannot hang an HTTP request
    // (the record stays `queued` and the sweeper enqueues it again).
    maxRetriesPerRequest: role === 'worker' ? null : 3,
    ...(REDIS_COMMAND_TIMEOUT_MS[role] !== undefined
      ? { commandTimeout: REDIS_COMMAND_TIMEOUT_MS[role] }
      : {}),
    // The rate limit is asked on every request: while Redis is away it fails at once (and the
    // request goes through) instead of waiting for a reconnect.
    ...(role === 'limiter'
      ? { maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 1000 }
      : {}),
  };
  const client = new Redis(url, options);
  // BullMQ reports connection errors through its own objects; this keeps an error raised
  // before they subscribe from crashing the process as an unhandled 'error' event.
  client.on('error', () => {});
  return client;
}

/**
 * Warns unless Redis's `maxmemory-policy` is `noeviction`: any other policy lets Redis drop
 * queue keys under memory pressure, and with them deliveries and locks.
 */
export async function checkEvictionPolicy(client: Redis, logger: QueueLogger): Promise<string | undefined> {
  let policy: string | undefined;
  try {
    const reply = (await client.config('GET', 'maxmemory-policy')) as unknown;
    policy = Array.isArray(reply) && typeof reply[1] === 'string' ? reply[1] : undefined;
  } catch (error) {
    logger.warn(
      { error: error instanceof Error ? error.message : String(error) },
      'Could not read the Redis maxmemory-policy (CONFIG GET refused); make sure it is noeviction',
    );
    return undefined;
  }
  if (policy !== 'noeviction') {
    logger.warn(
      { maxmemoryPolicy: policy ?? null },
      `Redis maxmemory-policy is ${policy ?? 'unknown'}, not noeviction: under memory pressure Redis may evict queue keys and lose deliveries`,
    );
  }
  return policy;
}
