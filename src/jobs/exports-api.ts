/**
 * Background exports as the service offers them to apps, the HTTP API and the CLI: create,
 * get, list, cancel and remove a principal's exports, and run workers. Every lookup is the
 * owner's: someone else's export id is `export_not_found`, exactly like a missing one.
 */
import type { Principal } from '../datasets/define.js';
import { coerceError, TakeoutError } from '../errors.js';
import type { ExportContext } from '../exports/plan.js';
import type { ExportRequest } from '../exports/request.js';
import { NO_NOTIFY, type NotifySettings } from '../notify/config.js';
import { NotificationDispatcher } from '../notify/dispatcher.js';
import { checkNotify } from '../notify/targets.js';
import type { Delivery } from '../notify/types.js';
import type { Storage } from '../storage/types.js';
import type { Row } from '../types.js';
import type { JobMetrics } from './attempt-metrics.js';
import type { JobSettings } from './config.js';
import { EnqueueRetries } from './enqueue-retries.js';
import { discardExport, requestCancel } from './lifecycle.js';
import { type JobLogger, silentLogger } from './log.js';
import { ownerOf } from './owner.js';
import type { ExportQueue } from './queue/types.js';
import { recordExport } from './record-export.js';
import { type JobSweepResult, sweepJobs } from './sweeper.js';
import type { CreateResult, JobPage, JobRecord, JobStore, ListQuery } from './types.js';
import { exportJobHandler } from './worker.js';

export interface ExportJobsOptions {
  store: JobStore;
  queue: ExportQueue;
  storage: Storage;
  exports: ExportContext;
  settings: JobSettings;
  /** How long finished files are kept (TAKEOUT_FILE_TTL). */
  fileTtlSeconds: number;
  /** Webhooks and email when exports finish; default: none. */
  notify?: NotifySettings;
  /** Told of every failed notification attempt (metrics). */
  onNotifyFailure?: (delivery: Delivery) => void;
  log?: JobLogger;
  /** Where workers record durations, rows, bytes and retries. */
  metrics?: JobMetrics;
}

export interface CreateExportOptions {
  /** Retries with the same key and request get the same export; another request gets `idempotency_conflict`. */
  idempotencyKey?: string;
  /**
   * Inline rows given apart from the request, streamed to staging (any iterable: memory stays
   * flat). They come back to the worker as they were given: Dates, bigints, NaN and the rest
   * are kept (docs/jobs.md).
   */
  rows?: AsyncIterable<Row> | Iterable<Row>;
}

export interface ExportWorker {
  /** Stops taking jobs; running ones get `graceMs` to finish, then are handed back. */
  close(graceMs?: number): Promise<void>;
}

export class ExportJobs {
  readonly store: JobStore;
  readonly queue: ExportQueue;
  readonly #options: ExportJobsOptions;
  readonly #log: JobLogger;
  #worker: ExportWorker | undefined;
  #dispatcher: NotificationDispatcher | undefined;
  #closed = false;
  #closing = false;
  readonly #enqueueRetries: EnqueueRetries;

  constructor(options: ExportJobsOptions) {
    this.#options = options;
    this.store = options.store;
    this.queue = options.queue;
    this.#log = options.log ?? silentLogger;
    this.#enqueueRetries = new EnqueueRetries(options.queue, this.#log, {
      stillQueued: async (id) => (await options.store.get(id))?.status === 'queued',
    });
  }

  /**
   * Records a background export for `principal` and queues it. The request is the one
   * `parseExportRequest` returned; inline rows (in it or in `options.rows`) are staged in
   * storage first. Throws `unknown_dataset`, `too_many_exports`, `idempotency_conflict`.
   */
  async create(
    request: ExportRequest,
    principal: Principal,
    options: CreateExportOptions = {},
  ): Promise<CreateResult> {
    this.#refuseClosing();
    const result = await recordExport(this.#options, request, principal, options);
    if (!result.created) return result;
    const id = result.job.id;
    const rank = result.job.queueRank ?? 0;
    try {
      await this.queue.enqueue(id, { rank });
    } catch (error) {
      // The record is queued, and the caller's job exists either way: it is enqueued again in
      // the background soon, and by the sweeper if the queue stays away.
      this.#log.warn(
        { exportId: id, code: coerceError(error).code },
        'could not enqueue an export; it is retried in the background (the sweeper enqueues it if the queue stays away)',
      );
      this.#enqueueRetries.schedule(id, rank);
    }
    return result;
  }

  /** The principal's export, or undefined for anyone else's or a missing one. */
  async find(id: string, principal: Principal): Promise<JobRecord | undefined> {
    this.#refuseClosed();
    return this.store.get(id, ownerOf(principal));
  }

  /**
   * The principal's export, with its notifications' deliveries; `export_not_found` for
   * anyone else's or a missing one.
   */
  async get(id: string, principal: Principal): Promise<JobRecord> {
    this.#refuseClosed();
    const job = await this.store.get(id, ownerOf(principal));
    if (!job) throw new TakeoutError('export_not_found', 'No such export');
    if (!job.notify?.length) return job;
    return { ...job, deliveries: await this.store.deliveries(job.id) };
  }

  /** Refuses now what `create` would refuse for `notify` (a webhook host not allowed, no SMTP). */
  checkNotify(request: ExportRequest): void {
    if (request.notify) checkNotify(request.notify, this.#options.notify ?? NO_NOTIFY);
  }

  /** The principal's exports, newest first. */
  async list(principal: Principal, query: ListQuery = {}): Promise<JobPage> {
    this.#refuseClosed();
    return this.store.list(ownerOf(principal), query);
  }

  /** Cancels a queued or running export (running ones stop within about two seconds); finished ones are returned as they are. */
  async cancel(id: string, principal: Principal): Promise<JobRecord> {
    this.#refuseClosed();
    const job = await requestCancel(this.store, id, ownerOf(principal));
    if (!job) throw new TakeoutError('export_not_found', 'No such export');
    return job;
  }

  /**
   * Discards the export but keeps its record (what `DELETE /v1/exports/{id}` does): an active
   * export is canceled, a succeeded one's file is deleted and the record becomes `expired`.
   */
  async discard(id: string, principal: Principal): Promise<JobRecord> {
    this.#refuseClosed();
    const { storage } = this.#options;
    const job = await discardExport(this.store, (key) => storage.delete(key), id, ownerOf(principal));
    if (!job) throw new TakeoutError('export_not_found', 'No such export');
    return job;
  }

  /**
   * Deletes the export: its file, staged rows and record. A running attempt notices at its
   * next heartbeat and stops; its late result can no longer win, and it deletes its object.
   */
  async remove(id: string, principal: Principal): Promise<void> {
    this.#refuseClosed();
    const job = await this.get(id, principal);
    const { storage } = this.#options;
    // The record as the cancel left it: an attempt that succeeded meanwhile has a file now.
    const latest = (await requestCancel(this.store, id, ownerOf(principal))) ?? job;
    const result = latest.result ?? job.result;
    if (result) await storage.delete(result.key);
    if (job.inputKey) await storage.delete(job.inputKey);
    await this.store.delete(id, ownerOf(principal));
  }

  /** Starts running jobs in this process (once per service, and not once it is closed). */
  async startWorker(options: { concurrency?: number } = {}): Promise<ExportWorker> {
    this.#refuseClosing();
    if (this.#worker) throw new TakeoutError('config_error', 'A worker is already running in this service');
    const { settings, storage, exports, fileTtlSeconds } = this.#options;
    const handler = exportJobHandler({
      store: this.store,
      storage,
      exports,
      log: this.#log,
      ...(this.#options.metrics ? { metrics: this.#options.metrics } : {}),
      limits: {
        maxRows: settings.maxRows,
        maxBytes: settings.maxBytes,
        timeoutMs: settings.timeoutMs,
        attempts: settings.attempts,
        leaseMs: settings.leaseMs,
        fileTtlSeconds,
      },
    });
    await this.queue.consume(handler, { concurrency: Math.max(1, options.concurrency ?? settings.workers) });
    const { notify, onNotifyFailure } = this.#options;
    if (notify) {
      this.#dispatcher = new NotificationDispatcher({
        store: this.store,
        settings: notify,
        log: this.#log,
        ...(onNotifyFailure ? { onFailure: onNotifyFailure } : {}),
      });
      this.#dispatcher.start();
    }
    const worker: ExportWorker = {
      close: async (graceMs = settings.shutdownGraceMs) => {
        // Notifications stop being claimed at once (the outbox keeps what comes meanwhile):
        // a send started late in the grace would outlast it.
        await Promise.all([this.queue.close(graceMs), this.#dispatcher?.close(graceMs)]);
      },
    };
    this.#worker = worker;
    return worker;
  }

  /** One housekeeping pass (see sweeper.ts); safe in many processes at once. */
  async sweep(now = new Date()): Promise<JobSweepResult> {
    this.#refuseClosing();
    const { storage, settings } = this.#options;
    // Deliveries are kept as long as records: an owner can still see how theirs went.
    await this.store
      .purgeDeliveries(new Date(now.getTime() - settings.recordTtlSeconds * 1000))
      .catch((error: unknown) =>
        this.#log.warn({ code: coerceError(error).code }, 'sweeper could not delete old notifications'),
      );
    return sweepJobs({
      store: this.store,
      storage,
      queue: this.queue,
      recordTtlSeconds: settings.recordTtlSeconds,
      now,
      log: this.#log,
    });
  }

  /** Once closed, every call is refused for good (the store and queue are gone): not `internal`, not retryable. */
  #refuseClosed(): void {
    if (this.#closed) {
      throw new TakeoutError('service_closed', 'The service is closed: create a new one to run exports');
    }
  }

  /**
   * From the start of close(): what would start new work (a job on a queue that is closing, a
   * worker, a sweep) is refused; reads and cancels go on until the store closes.
   */
  #refuseClosing(): void {
    this.#refuseClosed();
    if (this.#closing) {
      throw new TakeoutError('service_closed', 'The service is closing: create exports with another one');
    }
  }

  /**
   * Ends a shutdown's grace at once (a second SIGTERM): running exports are handed back now
   * and notification sends under way are cut, instead of waiting out `shutdownGraceMs`.
   */
  endShutdownGrace(): void {
    void this.queue.close(0).catch(() => {});
    void this.#dispatcher?.close(0).catch(() => {});
  }

  /**
   * Stops the worker (handing running jobs back after the grace period) and closes the queue and
   * store. Every call after it is refused with `service_closed`.
   */
  async close(graceMs = this.#options.settings.shutdownGraceMs): Promise<void> {
    this.#closing = true;
    this.#enqueueRetries.close();
    // Reads are refused only once the grace is over: until then running jobs finish, and
    // requests in flight (a poll, a download) are still answered from the store.
    try {
      await Promise.all([this.queue.close(graceMs), this.#dispatcher?.close(graceMs)]);
    } finally {
      this.#closed = true;
      await this.store.close();
    }
  }
}
