/**
 * Creating a job, shared by both stores as a generator of statements: the SQLite store runs
 * it synchronously inside one immediate transaction, the PostgreSQL store inside a
 * transaction holding the owner's advisory lock. The unique (owner, idempotency key)
 * constraint is the last word when two creates race anyway.
 */
import { TakeoutError } from '../../errors.js';
import {
  ACTIVE_STATUSES,
  type CreateOptions,
  type CreateResult,
  type JobRecord,
  type NewJob,
} from '../types.js';
import {
  byIdempotencyKeyStatement,
  countActiveStatement,
  type Dialect,
  insertStatement,
  rowToJob,
  type Statement,
} from './sql.js';

export type Rows = Record<string, unknown>[];

function replay(existing: JobRecord, job: NewJob): CreateResult {
  if (existing.requestHash !== job.requestHash) {
    throw new TakeoutError(
      'idempotency_conflict',
      'This Idempotency-Key was already used for a different export request',
    );
  }
  return { job: existing, created: false };
}

export function* createJobFlow(
  dialect: Dialect,
  job: NewJob,
  options: CreateOptions,
): Generator<Statement, CreateResult, Rows> {
  const lookup = () => byIdempotencyKeyStatement(dialect, job.owner, job.idempotencyKey!);
  if (job.idempotencyKey !== undefined) {
    const [existing] = yield lookup();
    if (existing) return replay(rowToJob(existing), job);
  }
  // The owner's active exports: the limit, and the new one's queue rank (fairness).
  const [count] = yield countActiveStatement(dialect, job.owner, ACTIVE_STATUSES);
  const active = Number(count?.n ?? 0);
  if (options.maxActivePerOwner !== undefined) {
    if (active >= options.maxActivePerOwner) {
      throw new TakeoutError(
        'too_many_exports',
        `You have ${options.maxActivePerOwner} exports queued or running; wait for one to finish`,
        { details: { limit: options.maxActivePerOwner } },
      );
    }
  }
  const [inserted] = yield insertStatement(dialect, job, options.now ?? new Date(), active);
  if (inserted) return { job: rowToJob(inserted), created: true };
  // The insert lost a race on the idempotency key: the winner's job is the answer.
  const [winner] = job.idempotencyKey === undefined ? [] : yield lookup();
  if (!winner) throw new TakeoutError('internal', 'The export could not be created');
  return replay(rowToJob(winner), job);
}
