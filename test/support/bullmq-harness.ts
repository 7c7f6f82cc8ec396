/**
 * Fresh BullMQ queues on a real Redis for tests: a unique key prefix per queue, a recording
 * logger, a probe that reads BullMQ's own view of an entry, and clean-up of every key.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type BullmqQueueOptions, bullmqQueue } from '../../src/jobs/queue/bullmq.js';
import type { QueueLogger } from '../../src/jobs/queue/redis.js';
import type { ExportQueue } from '../../src/jobs/queue/types.js';

export const SHARED_REDIS_URL = 'redis://127.0.0.1:6379';

export interface LogEntry {
  level: 'warn' | 'error';
  message: string;
  details: Record<string, unknown>;
}

export function recordingLogger(): QueueLogger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return {
    entries,
    warn: (details, message) => entries.push({ level: 'warn', message, details }),
    error: (details, message) => entries.push({ level: 'error', message, details }),
  };
}

let counter = 0;

/** Options naming a queue no other test uses. */
export function freshQueueOptions(overrides: Partial<BullmqQueueOptions> = {}): BullmqQueueOptions {
  return {
    url: SHARED_REDIS_URL,
    name: 'exports',
    prefix: `takeout-test:${process.pid}:${Date.now().toString(36)}:${counter++}`,
    logger: recordingLogger(),
    ...overrides,
  };
}

export class BullmqHarness {
  private readonly queues: ExportQueue[] = [];
  private readonly probes: Queue[] = [];
  private readonly clients: Redis[] = [];
  /** url -> key prefixes to delete afterwards. */
  private readonly prefixes = new Map<string, Set<string>>();

  async open(options: BullmqQueueOptions): Promise<ExportQueue> {
    this.remember(options);
    const queue = await bullmqQueue(options);
    this.queues.push(queue);
    return queue;
  }

  /** BullMQ's own view of the queue behind `options`. */
  probe(options: BullmqQueueOptions): Queue {
    this.remember(options);
    const client = new Redis(options.url, { maxRetriesPerRequest: null });
    client.on('error', () => {}); // a test may stop this Redis on purpose
    this.clients.push(client);
    const queue = new Queue(options.name ?? 'takeout-exports', {
      connection: client,
      prefix: options.prefix,
    });
    this.probes.push(queue);
    return queue;
  }

  async cleanUp(): Promise<void> {
    await Promise.all(this.queues.splice(0).map((queue) => queue.close(0).catch(() => {})));
    await Promise.all(this.probes.splice(0).map((queue) => queue.close().catch(() => {})));
    for (const client of this.clients.splice(0)) client.disconnect();
    for (const [url, prefixes] of this.prefixes) {
      const client = new Redis(url, { retryStrategy: () => null });
      client.on('error', () => {});
      for (const prefix of prefixes) await deleteKeys(client, prefix).catch(() => {});
      client.disconnect();
    }
    this.prefixes.clear();
  }

  /** Only test prefixes: clean-up must never touch another process's queue. */
  private remember(options: BullmqQueueOptions): void {
    if (!options.prefix?.startsWith('takeout-test:')) return;
    const prefixes = this.prefixes.get(options.url) ?? new Set<string>();
    prefixes.add(options.prefix);
    this.prefixes.set(options.url, prefixes);
  }
}

/** Deletes a queue's keys (`prefix:*`) on the Redis at `url`, if it answers. */
export async function dropQueueKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { retryStrategy: () => null, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  try {
    await deleteKeys(client, prefix);
  } finally {
    client.disconnect();
  }
}

async function deleteKeys(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await client.del(...keys);
  } while (cursor !== '0');
}

/** Polls until `check` holds or `timeoutMs` passes; returns whether it held. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(25);
  }
  return check();
}
