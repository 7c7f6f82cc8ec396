/**
 * The SQL both job stores share: the row <-> record mapping and the statements built from a
 * condition, a patch or a query. A dialect supplies only placeholders and time values.
 */
import { TakeoutError } from '../../errors.js';
import type {
  FindQuery,
  JobCondition,
  JobOwner,
  JobPatch,
  JobRecord,
  JobStatus,
  ListQuery,
  NewJob,
} from '../types.js';

export interface Dialect {
  /** The placeholder of the n-th (1-based) parameter. */
  param(n: number): string;
  /** A time as the database stores it. */
  time(date: Date): unknown;
  /** The quoted, possibly schema-qualified name of the jobs table. */
  table: string;
  /** ... of the outbox of notifications, and of their attempts. */
  deliveries: string;
  attempts: string;
  /** What locks claimed rows so that concurrent claimers skip them (PostgreSQL), or nothing. */
  skipLocked: string;
}

export interface Statement {
  text: string;
  values: unknown[];
}

/** Collects parameters and hands back their placeholders. */
export class Params {
  readonly values: unknown[] = [];
  constructor(private readonly dialect: Dialect) {}
  add(value: unknown): string {
    this.values.push(value);
    return this.dialect.param(this.values.length);
  }
  list(items: readonly unknown[]): string {
    return items.map((item) => this.add(item)).join(', ');
  }
}

const FIELD_COLUMNS: Record<FindQuery['field'], string> = {
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  finishedAt: 'finished_at',
  expiresAt: 'expires_at',
  leaseExpiresAt: 'lease_expires_at',
  runAfter: 'run_after',
};

export const json = (value: unknown) =>
  value === null || value === undefined ? null : JSON.stringify(value);

export function insertStatement(dialect: Dialect, job: NewJob, now: Date, queueRank: number): Statement {
  const p = new Params(dialect);
  const values = [
    p.add(job.id),
    p.add(job.owner.id),
    p.add(job.owner.tenant ?? ''),
    p.add(json(job.principal)),
    p.add(json(job.request)),
    p.add(job.requestHash),
    p.add(job.idempotencyKey ?? null),
    p.add(job.inputKey ?? null),
    p.add(job.progress?.rowsEstimated ?? null),
    p.add(job.notify?.length ? json(job.notify) : null),
    p.add(dialect.time(now)),
    p.add(dialect.time(now)),
    p.add(queueRank),
  ];
  return {
    text:
      `INSERT INTO ${dialect.table} (id, owner_id, owner_tenant, principal, request, request_hash, ` +
      'idempotency_key, input_key, rows_estimated, notify, created_at, updated_at, queue_rank, ' +
      'status, attempt, rows_written, bytes_written) ' +
      `VALUES (${values.join(', ')}, 'queued', 0, 0, 0) ON CONFLICT DO NOTHING RETURNING *`,
    values: p.values,
  };
}

function ownerWhere(p: Params, owner: JobOwner): string {
  return `owner_id = ${p.add(owner.id)} AND owner_tenant = ${p.add(owner.tenant ?? '')}`;
}

export function byIdStatement(dialect: Dialect, id: string, owner?: JobOwner): Statement {
  const p = new Params(dialect);
  const where = `id = ${p.add(id)}${owner ? ` AND ${ownerWhere(p, owner)}` : ''}`;
  return { text: `SELECT * FROM ${dialect.table} WHERE ${where}`, values: p.values };
}

export function deleteStatement(dialect: Dialect, id: string, owner?: JobOwner): Statement {
  const p = new Params(dialect);
  const where = `id = ${p.add(id)}${owner ? ` AND ${ownerWhere(p, owner)}` : ''}`;
  return { text: `DELETE FROM ${dialect.table} WHERE ${where} RETURNING id`, values: p.values };
}

export function byIdempotencyKeyStatement(dialect: Dialect, owner: JobOwner, key: string): Statement {
  const p = new Params(dialect);
  return {
    text: `SELECT * FROM ${dialect.table} WHERE ${ownerWhere(p, owner)} AND idempotency_key = ${p.add(key)}`,
    values: p.values,
  };
}

export function countActiveStatement(
  dialect: Dialect,
  owner: JobOwner,
  active: readonly JobStatus[],
): Statement {
  const p = new Params(dialect);
  return {
    text: `SELECT count(*) AS n FROM ${dialect.table} WHERE ${ownerWhere(p, owner)} AND status IN (${p.list(active)})`,
    values: p.values,
  };
}

export function transitionStatement(
  dialect: Dialect,
  id: string,
  when: JobCondition,
  patch: JobPatch,
  now: Date,
): Statement {
  const p = new Params(dialect);
  const set: string[] = [`updated_at = ${p.add(dialect.time(now))}`];
  const assign = (column: string, value: unknown) => set.push(`${column} = ${p.add(value)}`);
  const time = (value: Date | null) => (value === null ? null : dialect.time(value));
  if (patch.status !== undefined) assign('status', patch.status);
  if (patch.incrementAttempt) set.push('attempt = attempt + 1');
  if (patch.incrementHandedBack) set.push('handed_back = handed_back + 1');
  if (patch.progress?.rowsWritten !== undefined) assign('rows_written', patch.progress.rowsWritten);
  if (patch.progress?.bytesWritten !== undefined) assign('bytes_written', patch.progress.bytesWritten);
  if (patch.progress?.rowsEstimated !== undefined) assign('rows_estimated', patch.progress.rowsEstimated);
  if (patch.lease !== undefined) {
    assign('lease_owner', patch.lease?.owner ?? null);
    assign('lease_expires_at', patch.lease ? dialect.time(patch.lease.expiresAt) : null);
  }
  if (patch.startedAt !== undefined) assign('started_at', time(patch.startedAt));
  if (patch.finishedAt !== undefined) assign('finished_at', time(patch.finishedAt));
  if (patch.expiresAt !== undefined) assign('expires_at', time(patch.expiresAt));
  if (patch.runAfter !== undefined) assign('run_after', time(patch.runAfter));
  if (patch.result !== undefined) assign('result', json(patch.result));
  if (patch.error !== undefined) assign('error', json(patch.error));
  if (patch.inputKey !== undefined) assign('input_key', null);

  const where = [`id = ${p.add(id)}`];
  if (when.status) where.push(`status IN (${p.list(when.status)})`);
  if (when.leaseOwner !== undefined) where.push(`lease_owner = ${p.add(when.leaseOwner)}`);
  if (when.leaseFreeAt !== undefined) {
    where.push(`(lease_expires_at IS NULL OR lease_expires_at <= ${p.add(dialect.time(when.leaseFreeAt))})`);
  }
  if (when.attemptsBelow !== undefined) where.push(`attempt - handed_back < ${p.add(when.attemptsBelow)}`);
  return {
    text: `UPDATE ${dialect.table} SET ${set.join(', ')} WHERE ${where.join(' AND ')} RETURNING *`,
    values: p.values,
  };
}

export function findStatement(dialect: Dialect, query: FindQuery): Statement {
  const p = new Params(dialect);
  const column = FIELD_COLUMNS[query.field];
  // Parameters are numbered in the order they appear in the text.
  const status = `status IN (${p.list(query.status)})`;
  const before = `${column} <= ${p.add(dialect.time(query.before))}`;
  let after = '';
  if (query.after) {
    const at = dialect.time(query.after.createdAt);
    after = ` AND (created_at > ${p.add(at)} OR (created_at = ${p.add(at)} AND id > ${p.add(query.after.id)}))`;
  }
  const limit = p.add(Math.max(1, Math.trunc(query.limit)));
  const order = query.order === 'queueRank' ? 'queue_rank, created_at, id' : 'created_at, id';
  return {
    text:
      `SELECT * FROM ${dialect.table} WHERE ${status} AND ` +
      `(${before}${query.orUnset ? ` OR ${column} IS NULL` : ''})${after} ORDER BY ${order} LIMIT ${limit}`,
    values: p.values,
  };
}

/** How many records are in each state (the metrics' gauge); the (status, updated_at) index covers it. */
export function countStatement(dialect: Dialect): Statement {
  return { text: `SELECT status, COUNT(*) AS n FROM ${dialect.table} GROUP BY status`, values: [] };
}

/** Cursors are opaque to callers: base64url of the last row's creation time and id. */
function encodeCursor(job: JobRecord): string {
  return Buffer.from(`${job.createdAt.getTime()}:${job.id}`).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const match = /^(\d{1,15}):(exp_[A-Za-z0-9_-]{1,64})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new TakeoutError('invalid_request', 'The page cursor is not valid');
  return { createdAt: new Date(Number(match[1])), id: match[2]! };
}

/**
 * Records whose status as their owner sees it (view.ts `visibleStatus`) is among `statuses`:
 * a succeeded record past its retention shows `expired` before the sweeper marks it.
 */
function visibleStatusWhere(p: Params, statuses: readonly JobStatus[], now: unknown): string {
  const stored = statuses.filter((status) => status !== 'succeeded');
  const either: string[] = [];
  if (stored.length) either.push(`status IN (${p.list(stored)})`);
  if (statuses.includes('succeeded')) {
    either.push(`(status = 'succeeded' AND (expires_at IS NULL OR expires_at > ${p.add(now)}))`);
  }
  if (statuses.includes('expired')) either.push(`(status = 'succeeded' AND expires_at <= ${p.add(now)})`);
  return `(${either.join(' OR ')})`;
}

export function listStatement(
  dialect: Dialect,
  owner: JobOwner | null,
  query: ListQuery,
): Statement & { limit: number } {
  const limit = query.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw new TakeoutError('invalid_request', 'The page size must be an integer from 1 to 100');
  }
  const p = new Params(dialect);
  const where = owner ? [ownerWhere(p, owner)] : ['TRUE'];
  if (query.status?.length) where.push(visibleStatusWhere(p, query.status, dialect.time(new Date())));
  if (query.cursor) {
    const after = decodeCursor(query.cursor);
    const at = dialect.time(after.createdAt);
    where.push(`(created_at < ${p.add(at)} OR (created_at = ${p.add(at)} AND id < ${p.add(after.id)}))`);
  }
  return {
    text: `SELECT * FROM ${dialect.table} WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT ${p.add(limit + 1)}`,
    values: p.values,
    limit,
  };
}

/** Turns the `limit + 1` rows a list statement fetched into a page. */
export function toPage(jobs: JobRecord[], limit: number): { jobs: JobRecord[]; nextCursor?: string } {
  if (jobs.length <= limit) return { jobs };
  const page = jobs.slice(0, limit);
  return { jobs: page, nextCursor: encodeCursor(page.at(-1)!) };
}

export const toDate = (value: unknown): Date | undefined =>
  value === null || value === undefined
    ? undefined
    : value instanceof Date
      ? value
      : new Date(typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : (value as number));

export const parseJson = (value: unknown): unknown => (typeof value === 'string' ? JSON.parse(value) : value);

/** A database row (either dialect) as a record. */
export function rowToJob(row: Record<string, unknown>): JobRecord {
  const optional = <K extends keyof JobRecord>(key: K, value: JobRecord[K] | undefined | null) =>
    value === undefined || value === null ? {} : ({ [key]: value } as Pick<JobRecord, K>);
  const leaseExpiresAt = toDate(row.lease_expires_at);
  return {
    id: String(row.id),
    owner: row.owner_tenant
      ? { id: String(row.owner_id), tenant: String(row.owner_tenant) }
      : { id: String(row.owner_id) },
    principal: parseJson(row.principal) as Record<string, unknown>,
    request: parseJson(row.request) as Record<string, unknown>,
    ...optional('inputKey', row.input_key as string | null),
    status: row.status as JobStatus,
    attempt: Number(row.attempt),
    ...(row.handed_back ? { handedBack: Number(row.handed_back) } : {}),
    progress: {
      rowsWritten: Number(row.rows_written),
      ...(row.rows_estimated === null || row.rows_estimated === undefined
        ? {}
        : { rowsEstimated: Number(row.rows_estimated) }),
      bytesWritten: Number(row.bytes_written),
    },
    createdAt: toDate(row.created_at)!,
    updatedAt: toDate(row.updated_at)!,
    ...optional('startedAt', toDate(row.started_at)),
    ...optional('finishedAt', toDate(row.finished_at)),
    ...optional('expiresAt', toDate(row.expires_at)),
    ...optional('result', parseJson(row.result) as JobRecord['result']),
    ...optional('error', parseJson(row.error) as JobRecord['error']),
    ...optional(
      'lease',
      row.lease_owner && leaseExpiresAt
        ? { owner: String(row.lease_owner), expiresAt: leaseExpiresAt }
        : undefined,
    ),
    ...optional('runAfter', toDate(row.run_after)),
    ...(row.queue_rank ? { queueRank: Number(row.queue_rank) } : {}),
    ...optional('idempotencyKey', row.idempotency_key as string | null),
    ...optional('notify', parseJson(row.notify) as JobRecord['notify']),
    requestHash: String(row.request_hash),
  };
}
