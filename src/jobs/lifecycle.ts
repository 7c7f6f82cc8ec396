/**
 * The job's state changes, each one conditional update of the record: claim with a lease,
 * renew it with progress, succeed only while this attempt still holds it, fail, hand back,
 * cancel. Whoever's condition no longer holds learns it from an undefined answer.
 */
import {
  FINISHED_STATUSES,
  type JobError,
  type JobOwner,
  type JobProgress,
  type JobRecord,
  type JobResult,
  type JobStore,
} from './types.js';

export type ClaimOutcome =
  /** This attempt holds the job now. */
  | { kind: 'claimed'; job: JobRecord }
  /** Another live attempt holds it (its lease has not ended). */
  | { kind: 'held'; job: JobRecord }
  /**
   * Finished by this claim: a cancel whose worker died (`canceled`), or a job whose attempts
   * were used up by attempts that died (`failed`). What those attempts left is to be removed.
   */
  | { kind: 'ended'; job: JobRecord }
  /** Nothing to do: finished, canceled, or deleted. */
  | { kind: 'finished'; job: JobRecord | undefined };

export interface LeaseOptions {
  /** The token of this attempt (unique per claim). */
  leaseOwner: string;
  leaseMs: number;
  /** Claims that count (countedAttempts) a job may have; past it the claim fails the job. */
  maxAttempts?: number;
  now?: Date;
}

/** Why a job out of attempts failed, when its last attempt died without saying. */
const INTERRUPTED: JobError = {
  code: 'internal',
  message: 'The export was interrupted too often',
  retryable: false,
};

const after = (now: Date, ms: number) => new Date(now.getTime() + ms);

/**
 * Takes a queued job, or a running one whose holder's lease ended (a crashed worker), while it
 * has attempts left; one without fails here, its record otherwise as its last attempt left it.
 */
export async function claimJob(store: JobStore, id: string, options: LeaseOptions): Promise<ClaimOutcome> {
  const now = options.now ?? new Date();
  const claimable = { status: ['queued', 'running'] as const, leaseFreeAt: now };
  const claimed = await store.transition(
    id,
    {
      ...claimable,
      ...(options.maxAttempts !== undefined ? { attemptsBelow: options.maxAttempts } : {}),
    },
    {
      status: 'running',
      incrementAttempt: true,
      lease: { owner: options.leaseOwner, expiresAt: after(now, options.leaseMs) },
      startedAt: now,
      runAfter: null,
      progress: { rowsWritten: 0, bytesWritten: 0 },
    },
    now,
  );
  if (claimed) return { kind: 'claimed', job: claimed };
  // A cancel whose worker died before it could finish it: finish it here.
  const canceled = await store.transition(
    id,
    { status: ['canceling'], leaseFreeAt: now },
    { status: 'canceled', lease: null, finishedAt: now, inputKey: null },
    now,
  );
  if (canceled) return { kind: 'ended', job: canceled };
  const current = await store.get(id);
  if (!current || FINISHED_STATUSES.includes(current.status)) return { kind: 'finished', job: current };
  const leaseFree = !current.lease || current.lease.expiresAt.getTime() <= now.getTime();
  if (leaseFree && options.maxAttempts !== undefined && countedAttempts(current) >= options.maxAttempts) {
    // Its last error as it was: a storage outage stays retryable (the same request may succeed
    // later), as when a last attempt fails with it; crashes alone are not.
    const failed = await store.transition(
      id,
      claimable,
      { status: 'failed', error: current.error ?? INTERRUPTED, finishedAt: now, lease: null, inputKey: null },
      now,
    );
    if (failed) return { kind: 'ended', job: failed };
    // Taken, canceled or finished meanwhile.
    const changed = await store.get(id);
    if (!changed || FINISHED_STATUSES.includes(changed.status)) return { kind: 'finished', job: changed };
    return { kind: 'held', job: changed };
  }
  return { kind: 'held', job: current };
}

/**
 * Renews the lease and records progress. Undefined means the attempt lost the job (lease
 * taken over, record deleted); a `canceling` status means its owner asked to stop.
 */
export function renewLease(
  store: JobStore,
  id: string,
  options: LeaseOptions & { progress?: Partial<JobProgress> },
): Promise<JobRecord | undefined> {
  const now = options.now ?? new Date();
  return store.transition(
    id,
    { status: ['running', 'canceling'], leaseOwner: options.leaseOwner },
    {
      lease: { owner: options.leaseOwner, expiresAt: after(now, options.leaseMs) },
      ...(options.progress ? { progress: options.progress } : {}),
    },
    now,
  );
}

/** Records the result, only if this attempt still holds a running job: exactly one attempt wins. */
export function succeedJob(
  store: JobStore,
  id: string,
  leaseOwner: string,
  outcome: { result: JobResult; progress: Partial<JobProgress>; expiresAt: Date; now?: Date },
): Promise<JobRecord | undefined> {
  const now = outcome.now ?? new Date();
  return store.transition(
    id,
    { status: ['running'], leaseOwner },
    {
      status: 'succeeded',
      result: outcome.result,
      progress: outcome.progress,
      expiresAt: outcome.expiresAt,
      finishedAt: now,
      lease: null,
      error: null,
      inputKey: null,
    },
    now,
  );
}

/** Ends the attempt's job as failed (or canceled, when a cancel was asked for meanwhile). */
export async function failJob(
  store: JobStore,
  id: string,
  leaseOwner: string,
  error: JobError,
  now = new Date(),
): Promise<JobRecord | undefined> {
  return (
    (await store.transition(
      id,
      { status: ['running'], leaseOwner },
      { status: 'failed', error, finishedAt: now, lease: null, inputKey: null },
      now,
    )) ?? (await cancelHeldJob(store, id, leaseOwner, now))
  );
}

/**
 * The claims that count against the attempts limit: every claim but those handed back at a
 * worker's shutdown (a deploy must not use up an export's retries).
 */
export function countedAttempts(job: Pick<JobRecord, 'attempt' | 'handedBack'>): number {
  return job.attempt - (job.handedBack ?? 0);
}

/**
 * Hands the job back to the queue (retry later, or another process after a shutdown;
 * `atShutdown` leaves that claim out of the attempts limit).
 */
export async function releaseJob(
  store: JobStore,
  id: string,
  leaseOwner: string,
  options: { error?: JobError; runAfter?: Date; now?: Date; atShutdown?: boolean } = {},
): Promise<JobRecord | undefined> {
  const now = options.now ?? new Date();
  return (
    (await store.transition(
      id,
      { status: ['running'], leaseOwner },
      {
        status: 'queued',
        lease: null,
        ...(options.atShutdown ? { incrementHandedBack: true } : {}),
        ...(options.error ? { error: options.error } : {}),
        ...(options.runAfter ? { runAfter: options.runAfter } : {}),
      },
      now,
    )) ?? (await cancelHeldJob(store, id, leaseOwner, now))
  );
}

/** The attempt's acknowledgement of a cancel: `canceling` (or still `running`) → `canceled`. */
export function cancelHeldJob(
  store: JobStore,
  id: string,
  leaseOwner: string,
  now = new Date(),
): Promise<JobRecord | undefined> {
  return store.transition(
    id,
    { status: ['running', 'canceling'], leaseOwner },
    { status: 'canceled', finishedAt: now, lease: null, inputKey: null },
    now,
  );
}

/**
 * The owner's cancel: a queued job is canceled at once, a running one becomes `canceling`
 * until its worker stops (within about two seconds: its next heartbeat, then the abort). Finished jobs are returned unchanged.
 */
export async function requestCancel(
  store: JobStore,
  id: string,
  owner?: JobOwner,
  now = new Date(),
): Promise<JobRecord | undefined> {
  let job = await store.get(id, owner);
  // Two conditional updates, one per status; a job that moved between them (a retry handed
  // back to the queue, a queued job just claimed) is tried again, so the cancel is never lost.
  for (let tries = 0; job && (job.status === 'queued' || job.status === 'running') && tries < 5; tries++) {
    const changed =
      job.status === 'queued'
        ? await store.transition(
            id,
            { status: ['queued'] },
            { status: 'canceled', finishedAt: now, runAfter: null },
            now,
          )
        : await store.transition(id, { status: ['running'] }, { status: 'canceling' }, now);
    if (changed) return changed;
    job = await store.get(id, owner);
  }
  return job;
}

/**
 * Discards an export but keeps its record (`DELETE /v1/exports/{id}`, `takeout jobs delete`):
 * an active export is canceled, a succeeded one's file deleted and the record `expired`.
 * Undefined when there is no such export (of `owner`).
 */
export async function discardExport(
  store: JobStore,
  deleteFile: (key: string) => Promise<void>,
  id: string,
  owner?: JobOwner,
): Promise<JobRecord | undefined> {
  const job = await requestCancel(store, id, owner);
  if (job?.status !== 'succeeded' || !job.result) return job;
  // Marked first: a job never says `succeeded` without its file. A failed delete is the
  // sweeper's to finish (the file's retention still ends).
  // The file goes now: `expires_at` says so, as it says when a retention ended (one that
  // has already ended keeps its time: its owner has been shown it).
  const now = new Date();
  const ended = job.expiresAt !== undefined && job.expiresAt <= now;
  const expired = await store.transition(
    id,
    { status: ['succeeded'] },
    ended ? { status: 'expired' } : { status: 'expired', expiresAt: now },
    now,
  );
  if (!expired) return store.get(id, owner);
  await deleteFile(job.result.key);
  return expired;
}
