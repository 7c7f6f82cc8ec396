/**
 * Housekeeping of background exports, one pass at a time. Safe in many processes at once:
 * every change is a conditional update or an idempotent delete, so two sweepers doing the
 * same thing do it once.
 *
 * - files whose retention ended are deleted and their records marked `expired`;
 * - finished records older than the record TTL are deleted (with any file left);
 * - records left `queued` (the enqueue was lost) and running ones whose worker vanished
 *   are enqueued again; a cancel whose worker died is finished;
 * - staged rows whose job ended or never came to be are deleted.
 */
import { coerceError } from '../errors.js';
import type { Storage } from '../storage/types.js';
import { removeDeadAttempts } from './dead-attempts.js';
import { type JobLogger, silentLogger, withBindings } from './log.js';
import type { ExportQueue } from './queue/types.js';
import { exportIdOfStagingKey, stagingPrefix } from './staging.js';
import { ACTIVE_STATUSES, type FindQuery, type JobRecord, type JobStore } from './types.js';

export interface JobSweepOptions {
  store: JobStore;
  storage: Storage;
  queue: ExportQueue;
  recordTtlSeconds: number;
  now?: Date;
  /** A queued record untouched this long is enqueued again. Default 60 s. */
  stuckAfterMs?: number;
  /** Staged rows without a record are deleted after this long (their create may be under way). Default 1 h. */
  orphanStagingAfterMs?: number;
  log?: JobLogger;
}

export interface JobSweepResult {
  expired: number;
  deleted: number;
  requeued: number;
  canceled: number;
  stagingRemoved: number;
  failed: number;
}

const BATCH = 100;
/** At most this many batches of one kind per pass: a pass ends, the next goes on. */
const MAX_BATCHES = 50;

/** Whether `job` comes after `other` in the order `find` pages in: creation time, then id. */
function comesAfter(job: JobRecord, other: JobRecord): boolean {
  const a = job.createdAt.getTime();
  const b = other.createdAt.getTime();
  return a > b || (a === b && job.id > other.id);
}

/** Does `work` for every record the query finds, a page at a time, each record once. */
async function forEachFound(
  store: JobStore,
  query: Omit<FindQuery, 'limit' | 'after'>,
  work: (job: JobRecord) => Promise<void>,
): Promise<void> {
  let after: JobRecord | undefined;
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    const jobs = await store.find({ ...query, limit: BATCH, ...(after ? { after } : {}) });
    // A store that does not page (one written before `after`) would give the same page again.
    if (after && jobs[0] && !comesAfter(jobs[0], after)) return;
    for (const job of jobs) await work(job);
    // The next page starts past this one, whether its records changed or not (a failure, an
    // abandoned job enqueued again, which changes nothing in its record).
    if (jobs.length < BATCH) return;
    after = jobs.at(-1);
  }
}

export async function sweepJobs(options: JobSweepOptions): Promise<JobSweepResult> {
  const { store, storage, queue } = options;
  const now = options.now ?? new Date();
  const result: JobSweepResult = {
    expired: 0,
    deleted: 0,
    requeued: 0,
    canceled: 0,
    stagingRemoved: 0,
    failed: 0,
  };
  const attempt = async (what: string, job: { id: string }, work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      result.failed++;
      options.log?.warn({ exportId: job.id, code: coerceError(error).code }, `sweeper could not ${what}`);
    }
  };

  await forEachFound(store, { status: ['succeeded'], field: 'expiresAt', before: now }, (job) =>
    attempt('expire an export', job, async () => {
      if (job.result) await storage.delete(job.result.key);
      const expired = await store.transition(job.id, { status: ['succeeded'] }, { status: 'expired' }, now);
      if (expired) result.expired++;
    }),
  );

  const ttlStart = new Date(now.getTime() - options.recordTtlSeconds * 1000);
  // A succeeded record stays while its file may be downloaded: it is deleted once expired
  // (above), even when TAKEOUT_RECORD_TTL is shorter than TAKEOUT_FILE_TTL.
  await forEachFound(
    store,
    { status: ['failed', 'canceled', 'expired'], field: 'finishedAt', before: ttlStart },
    (job) =>
      attempt('delete an old record', job, async () => {
        if (job.result) await storage.delete(job.result.key);
        if (job.inputKey) await storage.delete(job.inputKey);
        if (await store.delete(job.id)) result.deleted++;
      }),
  );

  const stuck = new Date(now.getTime() - (options.stuckAfterMs ?? 60_000));
  await forEachFound(store, { status: ['queued'], field: 'updatedAt', before: stuck }, (job) =>
    attempt('enqueue an export', job, async () => {
      await queue.enqueue(job.id, { rank: job.queueRank ?? 0 });
      result.requeued++;
      // Touched: it waits stuckAfterMs again before the next enqueue.
      await store.transition(job.id, { status: ['queued'] }, {}, now);
    }),
  );
  await forEachFound(store, { status: ['running'], field: 'leaseExpiresAt', before: stuck }, (job) =>
    attempt('enqueue an abandoned export', job, async () => {
      await queue.enqueue(job.id, { rank: job.queueRank ?? 0 });
      result.requeued++;
    }),
  );
  await forEachFound(store, { status: ['canceling'], field: 'leaseExpiresAt', before: now }, (job) =>
    attempt('finish a cancel', job, async () => {
      const done = await store.transition(
        job.id,
        { status: ['canceling'], leaseFreeAt: now },
        { status: 'canceled', finishedAt: now, lease: null },
        now,
      );
      if (done) {
        result.canceled++;
        // Its worker died mid-export: what it wrote (parts, a file no record names) goes now.
        await removeDeadAttempts(
          storage,
          job,
          Number.POSITIVE_INFINITY,
          withBindings(options.log ?? silentLogger, { exportId: job.id }),
        );
      }
    }),
  );

  const orphanBefore = now.getTime() - (options.orphanStagingAfterMs ?? 3_600_000);
  // Uploads of staged rows cut short (a killed process, S3 down) leave parts outside the
  // exports' prefix, where neither the file sweeper nor the bucket's lifecycle rule looks.
  await attempt('remove unfinished uploads of staged rows', { id: '-' }, async () => {
    await storage.removeIncomplete(new Date(orphanBefore), { prefix: stagingPrefix(storage.prefix) });
  });
  try {
    for await (const item of storage.list(stagingPrefix(storage.prefix))) {
      const id = exportIdOfStagingKey(storage, item.key);
      if (!id) continue;
      await attempt('remove staged rows', { id }, async () => {
        const job = await store.get(id);
        const needed = job
          ? ACTIVE_STATUSES.includes(job.status)
          : item.lastModified.getTime() > orphanBefore;
        if (needed) return;
        await storage.delete(item.key);
        result.stagingRemoved++;
      });
    }
  } catch (error) {
    result.failed++;
    options.log?.warn({ code: coerceError(error).code }, 'sweeper could not list staged rows');
  }
  return result;
}
