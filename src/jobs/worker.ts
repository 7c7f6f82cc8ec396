/**
 * Runs one delivery of an export job: claim the record (deferring the delivery while another
 * attempt's lease holds it), fail it when it has run out of attempts, else run one attempt
 * (attempt.ts).
 */
import { randomUUID } from 'node:crypto';
import { Attempt } from './attempt.js';
import { AttemptMetrics } from './attempt-metrics.js';
import { removeDeadAttempts } from './dead-attempts.js';
import { claimJob, type LeaseOptions } from './lifecycle.js';
import { type JobLogger, silentLogger, withBindings } from './log.js';
import type { QueueDelivery, QueueHandler } from './queue/types.js';
import { stagingKey } from './staging.js';
import type { JobRecord } from './types.js';
import type { WorkerContext } from './worker-context.js';

export type { WorkerContext, WorkerLimits } from './worker-context.js';

/** A deferred delivery comes back this long after the lease it waits for ends. */
const DEFER_MARGIN_MS = 250;

/** The queue handler that runs export jobs. */
export function exportJobHandler(context: WorkerContext): QueueHandler {
  return (delivery) => runDelivery(context, delivery);
}

async function runDelivery(context: WorkerContext, delivery: QueueDelivery): Promise<void> {
  const { store, limits } = context;
  // Every line about this job carries its id, whoever logs it.
  const log = withBindings(context.log ?? silentLogger, { exportId: delivery.id });
  const lease: LeaseOptions = {
    leaseOwner: randomUUID(),
    leaseMs: limits.leaseMs,
    maxAttempts: limits.attempts,
  };
  const claim = await claimJob(store, delivery.id, lease);
  if (claim.kind === 'held') return deferHeld(context, delivery, claim.job, log);
  if (claim.kind === 'ended') return endedByClaim(context, claim.job, log);
  if (claim.kind === 'finished') {
    if (!claim.job) noSuchExport(context, log);
    return; // finished, canceled or deleted
  }
  const job = claim.job;
  log.info({ attempt: job.attempt }, 'export started');
  const attempt = new Attempt(context, job, lease, delivery.signal, log, delivery.retryAt?.bind(delivery));
  try {
    await attempt.run();
  } finally {
    attempt.dispose();
  }
}

/**
 * The queue delivered an id this worker's job store does not have. Deleted since it was
 * enqueued (`jobs.remove`), or this worker reads another store than the API that enqueued
 * it: no DATABASE_URL (SQLite of its own), another database or TAKEOUT_DATABASE_SCHEMA. The
 * delivery is done with either way (a deleted export is nothing to run); said, so the second
 * case is not silent: the export stays queued in the API's store (the API's sweeper enqueues
 * it again, and this is said again whenever it reaches such a worker).
 */
function noSuchExport(context: WorkerContext, log: JobLogger): void {
  log.warn(
    { jobStore: context.store.kind },
    'the job store has no such export: it was deleted, or this worker is on another DATABASE_URL / TAKEOUT_DATABASE_SCHEMA than the API that queued it (then that export stays queued): delivery dropped',
  );
}

/**
 * A job the claim finished: out of attempts (they died), or canceled while its worker was dead.
 * Those attempts may have left parts, an unnamed file or a whole one, and its staged rows.
 */
async function endedByClaim(context: WorkerContext, job: JobRecord, log: JobLogger): Promise<void> {
  const { storage } = context;
  if (job.status === 'failed') {
    new AttemptMetrics(context.metrics, job).ended('failed');
    log.warn({ attempt: job.attempt }, 'export failed: out of attempts');
  } else log.info({ attempt: job.attempt }, 'export canceled (its worker had died)');
  await removeDeadAttempts(storage, job, Number.POSITIVE_INFINITY, log);
  const staged = stagingKey(storage, job.id);
  await storage.delete(staged).catch(() => {}); // else the sweeper's staging pass removes it
}

/**
 * Another attempt's lease holds the record: a live worker runs the job (a second delivery), or
 * a dead one's lease has not ended yet (BullMQ hands a dead worker's delivery out again once
 * its queue lock expired, which can come first). Neither waits on this slot nor lets the queue
 * forget the id: the delivery comes back just after that lease ends, then claims the job, or
 * finds the lease renewed (deferred again) or the job finished (done). Without `defer` the
 * queue delivers the record again by itself once its lease ends (embedded).
 */
function deferHeld(context: WorkerContext, delivery: QueueDelivery, job: JobRecord, log: JobLogger): void {
  if (!delivery.defer) return;
  const now = Date.now();
  // No lease (handed back between the claim and the read): look again in a moment. A lease
  // further away than ours (another clock or setting): look again after one of ours.
  const leaseEnds = Math.min(job.lease?.expiresAt.getTime() ?? now, now + context.limits.leaseMs);
  const until = new Date(Math.max(leaseEnds, now) + DEFER_MARGIN_MS);
  log.info(
    { status: job.status, attempt: job.attempt, until: until.toISOString() },
    'export held by another attempt: delivery deferred until its lease ends',
  );
  delivery.defer(until);
}
