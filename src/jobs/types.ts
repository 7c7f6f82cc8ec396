/**
 * Background export jobs: the record (the source of truth) and the store that keeps it.
 * Implementations of `JobStore`, one file each: `store/sqlite.ts` (embedded default) and
 * `store/postgres.ts`. Every implementation passes test/contracts/jobs.ts.
 */

import type { Delivery, DeliveryStore, NotifyTarget } from '../notify/types.js';

export const JOB_STATUSES = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'canceling',
  'canceled',
  'expired',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** States a job never leaves (except `succeeded` → `expired` when its file is deleted). */
export const FINISHED_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'canceled', 'expired'];
/** States that count against an owner's limit of jobs at once. */
export const ACTIVE_STATUSES: readonly JobStatus[] = ['queued', 'running', 'canceling'];

/** Whose job it is: the principal's id and tenant. Only the owner may see it. */
export interface JobOwner {
  id: string;
  tenant?: string;
}

export interface JobProgress {
  rowsWritten: number;
  /** The source's estimate, when it gave one. */
  rowsEstimated?: number;
  bytesWritten: number;
}

/** The finished file. Never a signed URL: links are minted on demand. */
export interface JobResult {
  /** Storage key of the file. */
  key: string;
  filename: string;
  contentType: string;
  sizeBytes: number;
  rowCount: number;
  sha256: string;
}

export interface JobError {
  code: string;
  message: string;
  retryable: boolean;
}

/** The current holder of a running job: an attempt's token and when its hold ends unless renewed. */
export interface JobLease {
  owner: string;
  expiresAt: Date;
}

export interface JobRecord {
  /** `exp_` + random URL-safe characters. */
  id: string;
  owner: JobOwner;
  /** The principal the export runs as (scoped datasets bind from it). */
  principal: Record<string, unknown>;
  /** The export request as the core parses it (versioned JSON), inline rows left out. */
  request: Record<string, unknown>;
  /** Storage key of the staged inline rows (gzip NDJSON), while the job needs them. */
  inputKey?: string;
  status: JobStatus;
  /** How many times a worker has claimed the job. */
  attempt: number;
  /**
   * How many of those claims a worker handed back at its shutdown: they do not count against
   * the attempts limit (see `countedAttempts`). Set by the store; absent counts as 0.
   */
  handedBack?: number;
  progress: JobProgress;
  createdAt: Date;
  updatedAt: Date;
  startedAt?: Date;
  finishedAt?: Date;
  /** When the file's retention ends (succeeded jobs). */
  expiresAt?: Date;
  result?: JobResult;
  /** Why it failed; for a queued job after a retryable failure, why the last attempt failed. */
  error?: JobError;
  lease?: JobLease;
  /** A queued job is not started before this instant (retry backoff). */
  runAfter?: Date;
  /**
   * How many exports its owner had queued or running when it was created: queues start lower
   * ranks first (fairness between owners). Set by the store; absent counts as 0.
   */
  queueRank?: number;
  idempotencyKey?: string;
  /** SHA-256 of the canonical request, to tell a retry from another request under the same key. */
  requestHash: string;
  /** Where its final state is announced: the store writes a delivery per target with that state. */
  notify?: NotifyTarget[];
  /** Its notifications and how they went: filled by `ExportJobs.get`, not by stores. */
  deliveries?: Delivery[];
}

export interface NewJob {
  id: string;
  owner: JobOwner;
  principal: Record<string, unknown>;
  request: Record<string, unknown>;
  requestHash: string;
  idempotencyKey?: string;
  inputKey?: string;
  progress?: Partial<JobProgress>;
  notify?: NotifyTarget[];
}

export interface CreateOptions {
  /** Refuse with `too_many_exports` when the owner already has this many active jobs. */
  maxActivePerOwner?: number;
  now?: Date;
}

export interface CreateResult {
  job: JobRecord;
  /** False when an earlier request with the same idempotency key and body made the job. */
  created: boolean;
}

/** The condition of a conditional update: every given member must hold. */
export interface JobCondition {
  status?: readonly JobStatus[];
  /** The lease must be held by this token. */
  leaseOwner?: string;
  /** There must be no lease, or one that ended at or before this instant. */
  leaseFreeAt?: Date;
  /** The claims that count (`attempt` minus `handedBack`) must be fewer than this. */
  attemptsBelow?: number;
}

/** What a conditional update changes. `null` clears a member. */
export interface JobPatch {
  status?: JobStatus;
  /** Adds one to `attempt`. */
  incrementAttempt?: boolean;
  /** Adds one to `handedBack`. */
  incrementHandedBack?: boolean;
  progress?: Partial<JobProgress>;
  lease?: JobLease | null;
  startedAt?: Date | null;
  finishedAt?: Date | null;
  expiresAt?: Date | null;
  result?: JobResult | null;
  error?: JobError | null;
  runAfter?: Date | null;
  inputKey?: null;
}

export interface ListQuery {
  /** Page size, 1 to 100. Default 20. */
  limit?: number;
  /** The `nextCursor` of the previous page. */
  cursor?: string;
  status?: readonly JobStatus[];
}

export interface JobPage {
  /** Newest first. */
  jobs: JobRecord[];
  /** Present when there may be more. */
  nextCursor?: string;
}

/** Jobs the sweeper and the embedded queue look for: `field` before `before`, oldest created first. */
export interface FindQuery {
  status: readonly JobStatus[];
  field: 'createdAt' | 'updatedAt' | 'finishedAt' | 'expiresAt' | 'leaseExpiresAt' | 'runAfter';
  before: Date;
  /** When true, records whose `field` is unset match too (e.g. queued jobs without `runAfter`). */
  orUnset?: boolean;
  /** Only records after this one in the order found (creation time, then id): the next page. */
  after?: Pick<JobRecord, 'createdAt' | 'id'>;
  /** `queueRank`: lowest `queueRank` first, then by creation (not with `after`). Default: by creation. */
  order?: 'created' | 'queueRank';
  limit: number;
}

export interface JobStore extends DeliveryStore {
  /** `sqlite` or `postgres`. */
  readonly kind: string;
  /**
   * Creates the job, or returns the owner's job made with the same idempotency key and the
   * same request hash. Throws `idempotency_conflict` when the key was used for another
   * request, `too_many_exports` past `maxActivePerOwner`.
   */
  create(job: NewJob, options?: CreateOptions): Promise<CreateResult>;
  /** The job, or undefined; with `owner`, only when it is theirs. */
  get(id: string, owner?: JobOwner): Promise<JobRecord | undefined>;
  /** The owner's jobs (`null`: everyone's, for operators), newest first, paged. */
  list(owner: JobOwner | null, query?: ListQuery): Promise<JobPage>;
  /**
   * Applies `patch` only if `when` holds, atomically; the updated job, or undefined. A change
   * to a finished status writes the job's notifications in the same transaction (outbox).
   */
  transition(id: string, when: JobCondition, patch: JobPatch, now?: Date): Promise<JobRecord | undefined>;
  /** Jobs for housekeeping (sweeper, embedded queue). */
  find(query: FindQuery): Promise<JobRecord[]>;
  /** How many records are in each state (absent: none); for metrics. Optional for custom stores. */
  countByStatus?(): Promise<Partial<Record<JobStatus, number>>>;
  /** Deletes the job record (the caller deletes its files). True when it existed. */
  delete(id: string, owner?: JobOwner): Promise<boolean>;
  close(): Promise<void>;
}
