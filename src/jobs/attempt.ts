/**
 * One attempt at one claimed job: plan and run the export through the core into storage
 * under the attempt's own key, keep the lease alive, stop on shutdown, cancel, loss or time
 * limit, and record the outcome with one conditional update. Exactly one attempt's result
 * wins; a loser deletes its object.
 */
import { coerceError, TakeoutError } from '../errors.js';
import { type ExportPlan, planExport } from '../exports/plan.js';
import { parseExportRequest } from '../exports/request.js';
import { runExport } from '../exports/run.js';
import { SOURCE_CLOSE_WAIT_MS, settledWithin } from '../settle.js';
import { exportKey } from '../storage/keys.js';
import type { StoredObject } from '../storage/types.js';
import { systemCause } from '../system-cause.js';
import { AttemptLease } from './attempt-lease.js';
import { AttemptMetrics, outcomeRecorded } from './attempt-metrics.js';
import { STOPPED_AT_SHUTDOWN, Stop, type StopReason } from './attempt-stop.js';
import { removeDeadAttempts, removeUnrecorded } from './dead-attempts.js';
import {
  cancelHeldJob,
  countedAttempts,
  failJob,
  type LeaseOptions,
  releaseJob,
  succeedJob,
} from './lifecycle.js';
import type { JobLogger } from './log.js';
import { readStagedRows } from './staging.js';
import { timeoutError } from './timeout.js';
import type { JobRecord } from './types.js';
import type { WorkerContext } from './worker-context.js';
import { yielding } from './yielding.js';

/** One attempt at one job: its lease, heartbeat, stop reasons and outcome. */
export class Attempt {
  readonly #controller = new AbortController();
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #metrics: AttemptMetrics;
  readonly #lease: AttemptLease;
  #onShutdown = () => this.#stop('shutdown');

  constructor(
    readonly context: WorkerContext,
    readonly job: JobRecord,
    readonly lease: LeaseOptions,
    readonly shutdown: AbortSignal,
    readonly log: JobLogger,
    /** The delivery's retryAt (embedded queue): when a retry would run. */
    readonly retryAt: (() => Date) | undefined,
  ) {
    this.#metrics = new AttemptMetrics(context.metrics, job);
    // First: a stop (below, or from a renewal) tells the lease.
    this.#lease = new AttemptLease(
      context,
      job,
      lease,
      log,
      (reason) => this.#stop(reason),
      () => this.#reason,
    );
    if (shutdown.aborted) this.#stop('shutdown');
    else shutdown.addEventListener('abort', this.#onShutdown, { once: true });
    this.#timers.push(setTimeout(() => this.#stop('timeout'), context.limits.timeoutMs));
  }

  #stop(reason: StopReason) {
    this.#lease.stopped();
    if (!this.#controller.signal.aborted) this.#controller.abort(new Stop(reason));
  }

  get #reason(): StopReason | undefined {
    const reason: unknown = this.#controller.signal.reason;
    return reason instanceof Stop ? reason.reason : undefined;
  }

  dispose() {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#lease.dispose();
    this.shutdown.removeEventListener('abort', this.#onShutdown);
  }

  async run(): Promise<void> {
    const { context, job } = this;
    const { store, storage, limits } = context;
    const signal = this.#controller.signal;
    // This attempt's file, until its outcome is being recorded: a failure before that (an
    // abort racing a completed upload) must not leave the file behind.
    let unrecorded: string | undefined;
    let plan: ExportPlan | undefined;
    try {
      const request = parseExportRequest(job.request, context.exports.formats, {
        rowsApart: job.inputKey !== undefined,
      });
      plan = await planExport(request, job.principal as { id: string }, context.exports, {
        signal,
        estimateCap: limits.maxRows,
        now: job.createdAt,
        ...(job.inputKey ? { rows: readStagedRows(storage, job.inputKey, signal) } : {}),
        ...(job.progress.rowsEstimated !== undefined ? { rowCount: job.progress.rowsEstimated } : {}),
      });
      if (plan.estimate.rows !== undefined) this.#lease.progress.rowsEstimated = plan.estimate.rows;
      const key = exportKey({
        exportId: job.id,
        filename: plan.filename,
        createdAt: job.createdAt,
        attempt: job.attempt,
        prefix: storage.prefix,
      });
      unrecorded = key;
      if (job.attempt > 1) await removeDeadAttempts(storage, job, job.attempt, this.log);
      // The retention counts from when the file is written (the record's expiresAt, set at the
      // end). The object's own expiry goes into its metadata before the first byte: the latest
      // the record's can be, this attempt's time limit later, so the object never goes first.
      const objectExpiresAt = new Date(Date.now() + limits.timeoutMs + limits.fileTtlSeconds * 1000);
      const meta = { contentType: plan.contentType, filename: plan.filename, expiresAt: objectExpiresAt };
      // The storage hashes the bytes as it stores them: the export need not hash them again.
      let stored: StoredObject | undefined;
      const putFile = async (body: AsyncIterable<Uint8Array>) => {
        stored = await storage.put(key, yielding(body), meta, signal);
      };
      const result = await runExport(plan, putFile, {
        signal,
        maxRows: limits.maxRows,
        maxBytes: Math.min(limits.maxBytes, storage.maxObjectBytes ?? Number.POSITIVE_INFINITY),
        progressIntervalMs: 250,
        checksum: false,
        onProgress: (progress) => {
          this.#lease.progress = {
            ...this.#lease.progress,
            rowsWritten: progress.rows,
            bytesWritten: progress.bytes,
          };
        },
      });
      if (stored?.size !== result.bytes) {
        throw new TakeoutError(
          'storage_integrity_error',
          `The export wrote ${result.bytes} bytes but storage took ${stored?.size ?? 'none'}`,
        );
      }
      await this.#lease.beating; // no renewal may land after the result
      unrecorded = undefined;
      // From here a failure leaves the outcome unknown (the update may have committed before
      // the connection broke): the object stays, and its own expiry removes it if unused.
      const won = await this.#succeed(key, {
        result: {
          key,
          filename: plan.filename,
          contentType: plan.contentType,
          sizeBytes: result.bytes,
          rowCount: result.rows,
          sha256: stored.sha256,
        },
        progress: { ...this.#lease.progress, rowsWritten: result.rows, bytesWritten: result.bytes },
        // Never past the object's own expiry (an attempt that ended right at its time limit).
        expiresAt: new Date(Math.min(Date.now() + limits.fileTtlSeconds * 1000, objectExpiresAt.getTime())),
      });
      if (won?.status === 'succeeded') {
        this.#metrics.ended('succeeded', result);
        this.log.info({ attempt: job.attempt, rows: result.rows, bytes: result.bytes }, 'export succeeded');
        await this.#deleteInput();
        return;
      }
      // Lost: canceled meanwhile, taken over after a long stall, or deleted.
      await storage.delete(key);
      const canceled = await cancelHeldJob(store, job.id, this.lease.leaseOwner);
      if (canceled) await this.#deleteInput();
      this.#metrics.ended(outcomeRecorded(canceled, 'canceled'));
      this.log.warn({ attempt: job.attempt }, 'export finished but another outcome won');
    } catch (thrown) {
      await this.#lease.beating;
      // A failure before runExport took the source (a key, storage): close it, boundedly.
      if (plan) await settledWithin(plan.close(), SOURCE_CLOSE_WAIT_MS);
      if (unrecorded) await removeUnrecorded(storage, unrecorded, this.log);
      await this.#settleFailure(thrown);
    }
  }

  /**
   * Records the file as the job's result. The update may commit and its answer still be lost
   * (the connection broke): the record then says whether this attempt's file won.
   */
  async #succeed(key: string, outcome: Parameters<typeof succeedJob>[3]): Promise<JobRecord | undefined> {
    const { store } = this.context;
    try {
      return await succeedJob(store, this.job.id, this.lease.leaseOwner, outcome);
    } catch (error) {
      const current = await store.get(this.job.id).catch(() => undefined);
      if (current?.status === 'succeeded' && current.result?.key === key) return current;
      throw error;
    }
  }

  /** Records how a failed or stopped attempt ended; metrics and log say what the store recorded. */
  async #settleFailure(thrown: unknown): Promise<void> {
    const { job } = this;
    const reason = this.#reason;
    if (reason === 'lost') {
      this.#metrics.ended('lost');
      this.log.warn({ attempt: job.attempt }, 'export stopped: the job is no longer this attempt’s');
      return;
    }
    let retry: TakeoutError | undefined;
    try {
      retry = await this.#recordFailure(reason, thrown);
    } catch (storeError) {
      // Nothing recorded: the lease runs out, and the job runs again (sweeper or queue).
      this.#metrics.ended('unrecorded');
      this.log.warn(
        { attempt: job.attempt, code: coerceError(storeError).code },
        'could not record how the export ended; it runs again once its lease ends',
      );
      throw storeError;
    }
    if (retry) throw retry; // the queue delivers it again after a backoff
  }

  /** The store's update for a failed or stopped attempt; returns the error to retry with, if any. */
  async #recordFailure(reason: StopReason | undefined, thrown: unknown): Promise<TakeoutError | undefined> {
    const { store } = this.context;
    const { job, lease } = this;
    if (reason === 'shutdown') {
      // Handed back untouched: another process (or this one after a restart) runs it again.
      // Only a release that took says so: a job another attempt holds by now (this process was
      // frozen past its lease), or one canceled meanwhile, was not handed back. A shutdown's
      // claim is not counted against the attempts; a delivery the queue lost (this worker
      // blocked past its lock) is, or an export that blocks every worker would never end.
      const queueLost = (this.shutdown.reason as TakeoutError | undefined)?.details?.reason === 'lost';
      const released = await releaseJob(store, job.id, lease.leaseOwner, { atShutdown: !queueLost });
      const outcome = outcomeRecorded(released, 'handed_back');
      this.#metrics.ended(outcome);
      const said = outcome === 'handed_back' && queueLost ? 'queue_lost' : outcome;
      this.log.info({ attempt: job.attempt }, STOPPED_AT_SHUTDOWN[said] ?? `export stopped: ${said}`);
      return undefined;
    }
    if (reason === 'canceled') {
      const canceled = await cancelHeldJob(store, job.id, lease.leaseOwner);
      if (canceled) await this.#deleteInput();
      this.#metrics.ended(outcomeRecorded(canceled, 'canceled'));
      this.log.info({}, 'export canceled');
      return undefined;
    }
    let error = reason === 'timeout' ? timeoutError(this.context.limits.timeoutMs) : coerceError(thrown);
    if (error.code === 'sync_limit_exceeded') {
      error = new TakeoutError(
        'export_too_large',
        error.message,
        error.details ? { details: error.details } : {},
      );
    }
    const record = { code: error.code, message: error.message, retryable: error.retryable };
    const cause = systemCause(error.cause);
    const why = {
      attempt: job.attempt,
      code: error.code,
      reason: error.message,
      ...(cause ? { cause } : {}),
    };
    if (error.retryable && countedAttempts(job) < this.context.limits.attempts) {
      // Every process polling the store waits for the backoff, not only this one's queue.
      const runAfter = this.retryAt?.();
      const released = await releaseJob(store, job.id, lease.leaseOwner, {
        error: record,
        ...(runAfter ? { runAfter } : {}),
      });
      const outcome = outcomeRecorded(released, 'retried');
      this.#metrics.ended(outcome, undefined, error.code);
      if (outcome !== 'retried') {
        if (outcome === 'canceled') await this.#deleteInput();
        this.log.info({ ...why, outcome }, 'export failed; not retried');
        return undefined;
      }
      this.log.warn(why, 'export failed; will retry');
      return error;
    }
    const failed = await failJob(store, job.id, lease.leaseOwner, record);
    if (failed) await this.#deleteInput();
    this.#metrics.ended(outcomeRecorded(failed, 'failed'));
    this.log.warn(why, 'export failed');
    if (error.code === 'internal') this.log.error({ err: error.cause }, 'internal error in an export');
    return undefined;
  }

  async #deleteInput(): Promise<void> {
    if (!this.job.inputKey) return;
    await this.context.storage.delete(this.job.inputKey).catch((error: unknown) => {
      // The sweeper removes it later.
      this.log.warn({ code: coerceError(error).code }, 'could not delete staged rows');
    });
  }
}
