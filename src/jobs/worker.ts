/**
 * Runs one delivery of an export job: claim the record (waiting out a dead attempt's lease),
 * fail it when it has run out of attempts, else run one attempt (attempt.ts).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Attempt } from './attempt.js';
import { AttemptMetrics, outcomeRecorded } from './attempt-metrics.js';
import { removeDeadAttempts } from './dead-attempts.js';
import { claimJob, failJob, type LeaseOptions } from './lifecycle.js';
import { silentLogger, withBindings } from './log.js';
import type { QueueDelivery, QueueHandler } from './queue/types.js';
import type { WorkerContext } from './worker-context.js';

export type { WorkerContext, WorkerLimits } from './worker-context.js';

/** A lease renewed within this many heartbeats has a live holder. */
const LIVE_HOLDER_BEATS = 3;

/** The queue handler that runs export jobs. */
export function exportJobHandler(context: WorkerContext): QueueHandler {
  return (delivery) => runDelivery(context, delivery);
}

async function runDelivery(context: WorkerContext, delivery: QueueDelivery): Promise<void> {
  const { store, limits } = context;
  // Every line about this job carries its id, whoever logs it.
  const log = withBindings(context.log ?? silentLogger, { exportId: delivery.id });
  const lease: LeaseOptions = { leaseOwner: randomUUID(), leaseMs: limits.leaseMs };
  let claim = await claimJob(store, delivery.id, lease);
  // BullMQ hands a dead worker's delivery out again when its queue lock expires, which can be
  // before the dead attempt's record lease ends: wait for that lease, then take the job over.
  // A lease renewed within the last few heartbeats has a live holder (this is a second
  // delivery of a job that runs): waiting would only hold this slot for a whole lease.
  const heldUntil = claim.kind === 'held' ? claim.job.lease?.expiresAt.getTime() : undefined;
  const renewedAgo = heldUntil === undefined ? 0 : limits.leaseMs - (heldUntil - Date.now());
  const alive = renewedAgo < LIVE_HOLDER_BEATS * (context.heartbeatMs ?? 1000);
  if (heldUntil !== undefined && heldUntil - Date.now() <= limits.leaseMs && !alive) {
    await sleep(Math.max(0, heldUntil - Date.now()) + 50, undefined, { signal: delivery.signal }).catch(
      () => {},
    );
    if (delivery.signal.aborted) return;
    claim = await claimJob(store, delivery.id, lease);
  }
  if (claim.kind !== 'claimed') return; // finished, canceled, deleted, or another attempt runs it
  const job = claim.job;
  if (job.attempt > limits.attempts) {
    const error = job.error ?? {
      code: 'internal',
      message: 'The export was interrupted too often',
      retryable: false,
    };
    const metrics = new AttemptMetrics(context.metrics, job);
    // The last error as it was: a storage outage stays retryable (the same request may succeed
    // later), as when a last attempt fails with it; crashes alone are not.
    const failed = await failJob(store, job.id, lease.leaseOwner, error);
    // The attempts that were interrupted may have left parts or an unnamed file.
    if (failed) await removeDeadAttempts(context.storage, job, Number.POSITIVE_INFINITY, log);
    metrics.ended(outcomeRecorded(failed, 'failed'));
    log.warn({ attempt: job.attempt }, 'export failed: out of attempts');
    return;
  }
  log.info({ attempt: job.attempt }, 'export started');
  const attempt = new Attempt(context, job, lease, delivery.signal, log, delivery.retryAt?.bind(delivery));
  try {
    await attempt.run();
  } finally {
    attempt.dispose();
  }
}
