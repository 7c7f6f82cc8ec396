/**
 * An attempt's lease: renewed about once a second with the latest progress, which is also how
 * the attempt learns of a cancel or that the job is no longer its own. Once the attempt is
 * stopped, renewed for STOPPED_RENEWAL_MS at most.
 */
import { coerceError } from '../errors.js';
import type { StopReason } from './attempt-stop.js';
import { type LeaseOptions, renewLease } from './lifecycle.js';
import type { JobLogger } from './log.js';
import type { JobProgress, JobRecord } from './types.js';
import type { WorkerContext } from './worker-context.js';

/**
 * How long the lease of a stopped attempt is still renewed while it winds down (records its
 * outcome, hands the job back): far longer than that takes, short enough that a job is not
 * held by an attempt that cannot end.
 */
export const STOPPED_RENEWAL_MS = 60_000;

export class AttemptLease {
  /** What the next renewal writes. */
  progress: JobProgress = { rowsWritten: 0, bytesWritten: 0 };
  #beating: Promise<void> | undefined;
  /** When the attempt was stopped (time limit, cancel, shutdown, lost lease). */
  #stoppedAt: number | undefined;
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly context: WorkerContext,
    private readonly job: JobRecord,
    private readonly lease: LeaseOptions,
    private readonly log: JobLogger,
    /** Told when a renewal finds the job canceled, or no longer this attempt's. */
    private readonly onStop: (reason: 'lost' | 'canceled') => void,
    /** Why the attempt was stopped, for the log. */
    private readonly reason: () => StopReason | undefined,
  ) {
    this.#timer = setInterval(() => this.#tick(), context.heartbeatMs ?? 1000);
  }

  /** The attempt was stopped: from now on its lease is renewed for a while only. */
  stopped(): void {
    this.#stoppedAt ??= performance.now();
  }

  /** The renewal under way, if any: the attempt waits for it before recording its outcome. */
  get beating(): Promise<void> | undefined {
    return this.#beating;
  }

  dispose(): void {
    clearInterval(this.#timer);
  }

  #tick(): void {
    const stoppedFor = this.#stoppedAt === undefined ? 0 : performance.now() - this.#stoppedAt;
    if (stoppedFor > (this.context.stoppedRenewalMs ?? STOPPED_RENEWAL_MS)) {
      // Something under it ignores the stop (it should not: a bug, or a call without a
      // timeout). Renewing for ever would hold the job here for good: the lease runs out,
      // and another worker (or the sweeper) takes the job over.
      clearInterval(this.#timer);
      this.log.error(
        { attempt: this.job.attempt, reason: this.reason() },
        'export still running after it was stopped; its lease is left to run out',
      );
      return;
    }
    this.#beating ??= this.#renew().finally(() => {
      this.#beating = undefined;
    });
  }

  /** Renews the lease with the latest progress; notices a cancel or a lost job. */
  async #renew(): Promise<void> {
    try {
      const current = await renewLease(this.context.store, this.job.id, {
        ...this.lease,
        progress: this.progress,
      });
      if (!current) this.onStop('lost');
      else if (current.status === 'canceling') this.onStop('canceled');
    } catch (error) {
      // The store is unreachable for a moment: the lease lasts; the next beat tries again.
      this.log.warn({ code: coerceError(error).code }, 'could not renew an export lease');
    }
  }
}
