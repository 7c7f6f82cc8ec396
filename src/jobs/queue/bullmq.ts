/**
 * The BullMQ queue (Redis). The only file that imports bullmq: the service loads it with a
 * dynamic import when REDIS_URL is set, so the embedded default never pays for it.
 *
 * One BullMQ job per export, its job id the export id and its data empty: the job record
 * stays the source of truth. BullMQ brings attempts with backoff, locks renewed while a
 * handler runs, and stalled-job recovery (a delivery whose worker died goes back to `wait`
 * once its lock expired and stalled checks ran: within max(lock + interval, 3 × interval), as a
 * skipped check can add an interval; docs/queue.md).
 */
import { DelayedError, type Job, Queue, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { isTakeoutError, TakeoutError } from '../../errors.js';
import { Grace, settledWithin, withTimeout } from '../../settle.js';
import { retryDelay } from './backoff.js';
import {
  type BullmqQueueOptions,
  type BullmqSettings,
  DEFAULT_CLOSE_GRACE_MS,
  keep,
  priority,
  type RedisUrlLabel,
  resolveBullmqSettings,
} from './bullmq-options.js';
import {
  checkEvictionPolicy,
  checkRedisDatabase,
  consoleQueueLogger,
  type QueueLogger,
  redisClient,
} from './redis.js';
import type { ConsumeOptions, EnqueueOptions, ExportQueue, QueueHandler } from './types.js';

export type { BullmqQueueOptions } from './bullmq-options.js';

const JOB_NAME = 'export';
const BACKOFF_TYPE = 'takeout';

/** Why a running delivery's signal was aborted: the queue is closing, or BullMQ lost its lock. */
type AbortReason = 'shutdown' | 'lost';

interface Running {
  readonly controller: AbortController;
  reason?: AbortReason;
}

/**
 * Connects to Redis, refuses a database it does not have, warns unless it is `noeviction`,
 * and returns the queue.
 */
export function bullmqQueue(options: BullmqQueueOptions): Promise<ExportQueue> {
  return openBullmqQueue(options, "bullmqQueue's url");
}

/** bullmqQueue, its errors naming the URL as `label` says (REDIS_URL when the service read it). */
export async function openBullmqQueue(
  options: BullmqQueueOptions,
  label: RedisUrlLabel,
): Promise<ExportQueue> {
  const settings = resolveBullmqSettings(options);
  const logger = options.logger ?? consoleQueueLogger;
  await checkRedisDatabase(options.url, settings.connectTimeoutMs, label);
  const producer = redisClient(options.url, 'producer');
  const queue = new Queue(settings.name, { connection: producer, prefix: settings.prefix });
  queue.on('error', (error) => logger.error({ queue: settings.name, error: error.message }, 'BullMQ error'));
  try {
    await withTimeout(queue.waitUntilReady(), settings.connectTimeoutMs);
    await checkEvictionPolicy(producer, logger);
  } catch (error) {
    await queue.close().catch(() => {});
    producer.disconnect();
    throw new TakeoutError('queue_error', `Redis (${label}) is not reachable`, { cause: error });
  }
  return new BullmqExportQueue(options.url, queue, producer, settings, logger);
}

class BullmqExportQueue implements ExportQueue {
  readonly kind = 'bullmq';
  private worker: Worker | undefined;
  private workerClient: Redis | undefined;
  private readonly running = new Map<string, Running>();
  private closing: Promise<void> | undefined;
  private grace: Grace | undefined;
  /** Set when the grace period is over: deliveries still starting are handed straight back. */
  private aborting = false;

  constructor(
    private readonly url: string,
    private readonly queue: Queue,
    private readonly producer: Redis,
    private readonly settings: BullmqSettings,
    private readonly logger: QueueLogger,
  ) {}

  async enqueue(id: string, options: EnqueueOptions = {}): Promise<void> {
    if (this.closing) throw new TakeoutError('queue_error', 'The queue is closed');
    // BullMQ ignores an add whose id it still holds. Waiting, delayed or active: that is the
    // no-op we want. Finished and kept for retention: the record was queued again (the
    // sweeper, an operator), so the old entry makes way for a fresh delivery.
    try {
      const state = await this.queue.getJobState(id);
      if (state === 'completed' || state === 'failed') await this.queue.remove(id);
      const rank = priority(options.rank);
      await this.queue.add(
        JOB_NAME,
        {},
        {
          jobId: id,
          // Rank 0 goes to the plain wait list, which BullMQ serves before any priority; ranks
          // above it wait in priority order (a stalled delivery returns to the wait list).
          ...(rank !== undefined ? { priority: rank } : {}),
          attempts: this.settings.attempts,
          backoff: { type: BACKOFF_TYPE },
          removeOnComplete: keep(this.settings.keepCompleted),
          removeOnFail: keep(this.settings.keepFailed),
        },
      );
    } catch (error) {
      // Redis down past the producer's few reconnect attempts: the record stays `queued`.
      throw new TakeoutError('queue_error', 'Could not enqueue the export (Redis)', { cause: error });
    }
  }

  async ping(): Promise<void> {
    // Between reconnects a command would wait for the next one: say at once that Redis is away
    // (readiness then reads `failed`, with why, rather than `timeout`).
    const { status } = this.producer;
    if (status !== 'ready') throw new TakeoutError('queue_error', `Redis is not connected (${status})`);
    await this.producer.ping();
  }

  async depth(): Promise<Record<string, number>> {
    const counts = await this.queue.getJobCounts('wait', 'prioritized', 'active', 'delayed');
    return {
      waiting: (counts.wait ?? 0) + (counts.prioritized ?? 0),
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
    };
  }

  async consume(handler: QueueHandler, options: ConsumeOptions): Promise<void> {
    if (this.worker) throw new TakeoutError('internal', 'consume was already called on this queue');
    if (this.closing) throw new TakeoutError('queue_error', 'The queue is closed');
    const { backoff } = this.settings;
    // BullMQ duplicates this client for its own connections (one of them blocking).
    this.workerClient = redisClient(this.url, 'worker');
    const worker = new Worker(this.settings.name, (job, token) => this.process(handler, job, token), {
      connection: this.workerClient,
      prefix: this.settings.prefix,
      concurrency: options.concurrency,
      lockDuration: this.settings.lockDurationMs,
      stalledInterval: this.settings.stalledIntervalMs,
      maxStalledCount: this.settings.maxStalledCount,
      settings: { backoffStrategy: (attemptsMade) => retryDelay(attemptsMade, backoff) },
    });
    this.worker = worker;
    worker.on('error', (error) =>
      this.logger.error({ queue: this.settings.name, error: error.message }, 'BullMQ worker error'),
    );
    worker.on('stalled', (id) =>
      this.logger.warn(
        { exportId: id },
        'A delivery stalled (its worker died or blocked its event loop); handed out again',
      ),
    );
    // Another worker may already run these deliveries: stop the handlers (the stalled check
    // hands the ids out again).
    worker.on('lockRenewalFailed', (ids) => {
      for (const id of ids) this.abort(id, 'lost');
    });
    await worker.waitUntilReady();
  }

  private async process(handler: QueueHandler, job: Job, token: string | undefined): Promise<void> {
    const id = job.id;
    if (id === undefined) throw new UnrecoverableError('A queue entry without an id');
    // Fetched just as the grace period ran out: not started, so straight back.
    if (this.aborting) return this.handBack(job, token);
    const controller = new AbortController();
    let deferUntil: Date | undefined;
    const settled = handler({
      id,
      attempt: job.attemptsMade + 1,
      signal: controller.signal,
      defer: (until) => {
        deferUntil = until;
      },
    });
    const running: Running = { controller };
    this.running.set(id, running);
    let failure: unknown;
    let failed = false;
    try {
      await settled;
    } catch (error) {
      failed = true;
      failure = error;
    } finally {
      this.running.delete(id);
    }
    // The lock is gone: leave the entry alone, the stalled check hands it out again.
    if (running.reason === 'lost') throw new WaitingError();
    // Deferred (at shutdown too: delayed suits it better than the head of `wait`).
    if (deferUntil !== undefined && !failed) return this.delay(job, token, deferUntil);
    if (running.reason === 'shutdown') return this.handBack(job, token);
    if (failed) throw deliveryError(failure);
  }

  /**
   * To `delayed` until `until`, the attempt not counted (BullMQ's moveToDelayed skips it), then
   * DelayedError: the worker neither completes nor fails the entry, and takes the next one.
   */
  private async delay(job: Job, token: string | undefined, until: Date): Promise<never> {
    if (token !== undefined) {
      try {
        await job.moveToDelayed(until.getTime(), token);
      } catch (error) {
        // Left active, the entry would stall and count towards maxStalledCount: back to `wait`.
        this.logger.warn(
          { exportId: job.id, error: String(error) },
          'Could not defer a delivery; handing it back',
        );
        return this.handBack(job, token);
      }
    }
    throw new DelayedError();
  }

  /** Back to the head of `wait` now rather than after its lock expires; not counted as an attempt. */
  private async handBack(job: Job, token: string | undefined): Promise<never> {
    if (token !== undefined) {
      await job.moveToWait(token).catch((error: unknown) => {
        this.logger.warn(
          { exportId: job.id, error: String(error) },
          'Could not hand a delivery back; its lock will expire',
        );
      });
    }
    throw new WaitingError();
  }

  private abort(id: string, reason: AbortReason): void {
    const running = this.running.get(id);
    if (!running || running.reason) return;
    running.reason = reason;
    const message =
      reason === 'shutdown' ? 'The worker is shutting down' : 'The queue lost this delivery (lock expired)';
    // The reason rides along, so that the handler can say which it was.
    running.controller.abort(new TakeoutError('aborted', message, { details: { reason } }));
  }

  close(graceMs: number = DEFAULT_CLOSE_GRACE_MS): Promise<void> {
    // A close(0) during a close ends its grace: running handlers are handed back now.
    if (this.closing && graceMs === 0) this.grace?.end();
    this.closing ??= this.shutDown(graceMs);
    return this.closing;
  }

  private async shutDown(graceMs: number): Promise<void> {
    const worker = this.worker;
    if (worker) {
      // Stops fetching at once; resolves when every running handler has settled.
      const workerClosed = worker.close().catch((error: unknown) => {
        this.logger.error({ error: String(error) }, 'Closing the BullMQ worker failed');
      });
      this.grace = new Grace(graceMs);
      if (!(await this.grace.wait(workerClosed))) {
        this.aborting = true;
        for (const id of [...this.running.keys()]) this.abort(id, 'shutdown');
        if (!(await settledWithin(workerClosed, this.settings.abortSettleMs))) {
          // A handler ignores its signal: give up on it; its lock expires and the stalled
          // check hands the id to another worker.
          this.logger.error(
            { ids: [...this.running.keys()] },
            'Handlers did not settle after their signals were aborted; leaving them to lock expiry',
          );
          this.workerClient?.disconnect();
          this.producer.disconnect();
          return;
        }
      }
      await workerClosed;
      this.workerClient?.disconnect();
    }
    await this.queue.close().catch(() => {});
    await this.producer.quit().catch(() => this.producer.disconnect());
  }
}

/** A retryable TakeoutError asks BullMQ for another attempt; anything else fails at once. */
function deliveryError(error: unknown): Error {
  if (isTakeoutError(error)) {
    const message = `${error.code}: ${error.message}`;
    return error.retryable ? new Error(message) : new UnrecoverableError(message);
  }
  return new UnrecoverableError(error instanceof Error ? error.message : String(error));
}
