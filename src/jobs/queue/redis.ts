/**
 * Redis connections for the BullMQ queue: one client per role with the reconnect behaviour
 * that role needs, and the start-up check that Redis will not evict queue keys.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { TakeoutError } from '../../errors.js';

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

/** Reconnect at once after a blip, then back off to at most 5 s between tries, forever. */
function reconnectDelay(times: number): number {
  return Math.min(times * 250, 5000);
}

export function redisClient(url: string, role: RedisRole): Redis {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TakeoutError('config_error', 'REDIS_URL is not a URL (redis://host:port/db)');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new TakeoutError('config_error', 'REDIS_URL must start with redis:// or rediss://');
  }
  const options: RedisOptions = {
    connectionName: `takeout-${role}`,
    retryStrategy: reconnectDelay,
    // A worker waits out a Redis restart (BullMQ requires null for its blocking commands);
    // a producer gives up after a few reconnects, so an enqueue cannot hang an HTTP request
    // (the record stays `queued` and the sweeper enqueues it again).
    maxRetriesPerRequest: role === 'worker' ? null : 3,
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
