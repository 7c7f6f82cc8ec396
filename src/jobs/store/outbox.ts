/**
 * The notification outbox both SQL job stores share. A change of a job to a finished status
 * and the deliveries announcing it are written in one transaction (`transitionFlow`), so a
 * process killed right after the change loses no event and a rolled-back change sends none.
 * Flows are generators of statements, run by each store inside its own transaction.
 */
import { eventData, eventOf } from '../../notify/payload.js';
import {
  type AttemptOutcome,
  type ClaimDeliveriesOptions,
  type Delivery,
  type DeliveryAttempt,
  type DeliveryBacklog,
  EMAIL_EVENTS,
  type NotifyTarget,
} from '../../notify/types.js';
import { newDeliveryId } from '../ids.js';
import { FINISHED_STATUSES, type JobCondition, type JobPatch, type JobRecord } from '../types.js';
import type { Rows } from './create.js';
import {
  type Dialect,
  json,
  Params,
  parseJson,
  rowToJob,
  type Statement,
  toDate,
  transitionStatement,
} from './sql.js';

export type Flow<T> = Generator<Statement, T, Rows>;

/** Whether a patch may need the outbox: only changes to a finished status announce anything. */
export function announces(patch: JobPatch): boolean {
  return patch.status !== undefined && FINISHED_STATUSES.includes(patch.status);
}

/** The conditional update of `transitionStatement`, plus the job's deliveries when it finished. */
export function* transitionFlow(
  dialect: Dialect,
  id: string,
  when: JobCondition,
  patch: JobPatch,
  now: Date,
): Flow<JobRecord | undefined> {
  const [row] = yield transitionStatement(dialect, id, when, patch, now);
  if (!row) return undefined;
  const job = rowToJob(row);
  yield* outboxFlow(dialect, job, now);
  return job;
}

function* outboxFlow(dialect: Dialect, job: JobRecord, now: Date): Flow<void> {
  const event = eventOf(job.status);
  if (!event || !job.notify?.length) return;
  let targets: NotifyTarget[] = job.notify.filter(
    (t) => t.channel !== 'email' || EMAIL_EVENTS.includes(event),
  );
  if (targets.some((t) => t.channel === 'webhook')) {
    // A 410 Gone from the owner's webhook turned it off for this export's later events.
    const p = new Params(dialect);
    const [gone] = yield {
      text: `SELECT id FROM ${dialect.deliveries} WHERE export_id = ${p.add(job.id)} AND channel = 'webhook' AND status = 'disabled' LIMIT 1`,
      values: p.values,
    };
    if (gone) targets = targets.filter((t) => t.channel !== 'webhook');
  }
  if (targets.length === 0) return;
  const p = new Params(dialect);
  const data = json(eventData(job));
  const at = dialect.time(now);
  const values = targets.map((target) => {
    const destination =
      target.channel === 'webhook' ? target.url : target.channel === 'email' ? target.to : null;
    return `(${p.list([newDeliveryId(), job.id, target.channel, destination, event, data, 'pending', 0, at, at, at])})`;
  });
  yield {
    text:
      `INSERT INTO ${dialect.deliveries} (id, export_id, channel, destination, event, data, status, attempts, ` +
      `created_at, updated_at, next_attempt_at) VALUES ${values.join(', ')}`,
    values: p.values,
  };
}

export function claimDeliveriesStatement(dialect: Dialect, options: ClaimDeliveriesOptions): Statement {
  const now = options.now ?? new Date();
  // Placeholders are added in the order they appear in the text (SQLite's `?` are positional).
  const p = new Params(dialect);
  const time = dialect.time(now);
  const set = `lease_owner = ${p.add(options.leaseOwner)}, lease_expires_at = ${p.add(dialect.time(new Date(now.getTime() + options.leaseMs)))}, updated_at = ${p.add(time)}`;
  let due =
    `SELECT id FROM ${dialect.deliveries} WHERE status = 'pending' AND next_attempt_at <= ${p.add(time)} ` +
    `AND (lease_expires_at IS NULL OR lease_expires_at <= ${p.add(time)})`;
  const { channels = [], hosts = [] } = options.skip ?? {};
  if (channels.length > 0) due += ` AND channel NOT IN (${p.list(channels)})`;
  for (const host of hosts) {
    // Stored webhook URLs are normalised (URL.href): scheme://host[:port]/...
    const escaped = host.replace(/[\\%_]/g, (c) => `\\${c}`);
    due +=
      ` AND NOT (channel = 'webhook' AND (destination LIKE ${p.add(`http://${escaped}/%`)} ESCAPE '\\'` +
      ` OR destination LIKE ${p.add(`https://${escaped}/%`)} ESCAPE '\\'))`;
  }
  due += ` ORDER BY next_attempt_at, id LIMIT ${p.add(Math.max(1, Math.trunc(options.limit)))}${dialect.skipLocked}`;
  return {
    text: `UPDATE ${dialect.deliveries} SET ${set} WHERE id IN (${due}) RETURNING *`,
    values: p.values,
  };
}

/**
 * The outcome of an attempt and the attempt's own row, while `leaseOwner` still holds the
 * delivery. A success is recorded even when another dispatcher has claimed the delivery since
 * (this send outlived its claim): the event was delivered, and must not be sent again.
 */
export function* recordAttemptFlow(
  dialect: Dialect,
  id: string,
  leaseOwner: string,
  outcome: AttemptOutcome,
): Flow<Delivery | undefined> {
  const p = new Params(dialect);
  const at = dialect.time(outcome.at);
  const set = [
    `status = ${p.add(outcome.status)}`,
    'attempts = attempts + 1',
    `updated_at = ${p.add(at)}`,
    `last_attempt_at = ${p.add(at)}`,
    `last_status = ${p.add(outcome.statusCode ?? null)}`,
    `last_error = ${p.add(outcome.error ?? null)}`,
    'lease_owner = NULL',
    'lease_expires_at = NULL',
  ];
  if (outcome.status === 'delivered') set.push(`delivered_at = ${p.add(at)}`);
  if (outcome.status === 'pending' && outcome.nextAttemptAt) {
    set.push(`next_attempt_at = ${p.add(dialect.time(outcome.nextAttemptAt))}`);
  }
  // Parameters in the order of the text (SQLite's are positional).
  let where = `id = ${p.add(id)} AND status = 'pending'`;
  if (outcome.status !== 'delivered') where += ` AND lease_owner = ${p.add(leaseOwner)}`;
  const [row] = yield {
    text: `UPDATE ${dialect.deliveries} SET ${set.join(', ')} WHERE ${where} RETURNING *`,
    values: p.values,
  };
  if (!row) return undefined;
  const delivery = rowToDelivery(row);
  if (outcome.status === 'disabled') yield disableWaitingStatement(dialect, delivery, at);
  const q = new Params(dialect);
  yield {
    text: `INSERT INTO ${dialect.attempts} (delivery_id, attempt, attempted_at, status_code, latency_ms, error) VALUES (${q.list(
      [
        id,
        delivery.attempts,
        at,
        outcome.statusCode ?? null,
        Math.round(outcome.latencyMs),
        outcome.error ?? null,
      ],
    )})`,
    values: q.values,
  };
  return delivery;
}

/**
 * After a 410 Gone, the owner webhook's other events of that export still waiting (a retry of
 * an earlier one) are not sent either: the receiver said it wants none. One another dispatcher
 * is sending right now keeps its lease; its outcome is recorded as any other.
 */
function disableWaitingStatement(dialect: Dialect, gone: Delivery, at: unknown): Statement {
  const p = new Params(dialect);
  return {
    text:
      `UPDATE ${dialect.deliveries} SET status = 'disabled', updated_at = ${p.add(at)}, ` +
      `last_error = ${p.add('The receiver answered 410 Gone to another event of this export')} ` +
      `WHERE export_id = ${p.add(gone.exportId)} AND channel = 'webhook' AND status = 'pending' ` +
      `AND id <> ${p.add(gone.id)} AND (lease_expires_at IS NULL OR lease_expires_at <= ${p.add(at)})`,
    values: p.values,
  };
}

export function deliveriesStatement(dialect: Dialect, exportId: string): Statement {
  const p = new Params(dialect);
  return {
    text: `SELECT * FROM ${dialect.deliveries} WHERE export_id = ${p.add(exportId)} ORDER BY created_at, id`,
    values: p.values,
  };
}

/**
 * How many deliveries are pending, and since when the longest-waiting one has waited: since
 * its event, or since an operator sent it again (the due index serves it).
 */
export function backlogStatement(dialect: Dialect): Statement {
  return {
    text: `SELECT COUNT(*) AS n, MIN(COALESCE(redelivered_at, created_at)) AS oldest FROM ${dialect.deliveries} WHERE status = 'pending'`,
    values: [],
  };
}

export function rowToBacklog(row: Record<string, unknown> | undefined): DeliveryBacklog {
  const oldest = toDate(row?.oldest);
  return { pending: Number(row?.n ?? 0), ...(oldest ? { oldestCreatedAt: oldest } : {}) };
}

export function attemptsStatement(dialect: Dialect, deliveryId: string): Statement {
  const p = new Params(dialect);
  return {
    text: `SELECT * FROM ${dialect.attempts} WHERE delivery_id = ${p.add(deliveryId)} ORDER BY attempt`,
    values: p.values,
  };
}

/** Deletes finished deliveries created before `before`, attempts first; how many deliveries. */
export function* purgeFlow(dialect: Dialect, before: Date): Flow<number> {
  const old = (p: Params) =>
    `SELECT id FROM ${dialect.deliveries} WHERE status <> 'pending' AND created_at < ${p.add(dialect.time(before))}`;
  const p = new Params(dialect);
  yield { text: `DELETE FROM ${dialect.attempts} WHERE delivery_id IN (${old(p)})`, values: p.values };
  const q = new Params(dialect);
  const deleted = yield {
    text: `DELETE FROM ${dialect.deliveries} WHERE id IN (${old(q)}) RETURNING id`,
    values: q.values,
  };
  return deleted.length;
}

export function rowToDelivery(row: Record<string, unknown>): Delivery {
  const optional = <K extends keyof Delivery>(key: K, value: Delivery[K] | undefined | null) =>
    value === undefined || value === null ? {} : ({ [key]: value } as Pick<Delivery, K>);
  const leaseExpiresAt = toDate(row.lease_expires_at);
  return {
    id: String(row.id),
    exportId: String(row.export_id),
    channel: row.channel as Delivery['channel'],
    ...optional('destination', row.destination as string | null),
    event: row.event as Delivery['event'],
    data: parseJson(row.data) as Delivery['data'],
    status: row.status as Delivery['status'],
    attempts: Number(row.attempts),
    createdAt: toDate(row.created_at)!,
    updatedAt: toDate(row.updated_at)!,
    nextAttemptAt: toDate(row.next_attempt_at)!,
    ...optional(
      'lease',
      row.lease_owner && leaseExpiresAt
        ? { owner: String(row.lease_owner), expiresAt: leaseExpiresAt }
        : undefined,
    ),
    ...optional('lastAttemptAt', toDate(row.last_attempt_at)),
    ...optional(
      'lastStatus',
      row.last_status === null ? undefined : (Number(row.last_status) as number | undefined),
    ),
    ...optional('lastError', row.last_error as string | null),
    ...optional('deliveredAt', toDate(row.delivered_at)),
    ...optional('redeliveredAt', toDate(row.redelivered_at)),
  };
}

export function rowToAttempt(row: Record<string, unknown>): DeliveryAttempt {
  return {
    deliveryId: String(row.delivery_id),
    attempt: Number(row.attempt),
    at: toDate(row.attempted_at)!,
    ...(row.status_code === null || row.status_code === undefined
      ? {}
      : { statusCode: Number(row.status_code) }),
    latencyMs: Number(row.latency_ms),
    ...(row.error === null || row.error === undefined ? {} : { error: String(row.error) }),
  };
}
