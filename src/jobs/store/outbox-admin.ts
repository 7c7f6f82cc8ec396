/**
 * What operators do with the notification outbox (`takeout notifications`): find deliveries
 * and send chosen ones again. Statements both SQL job stores share.
 */
import type { DeliveryQuery } from '../../notify/types.js';
import { type Dialect, Params, type Statement } from './sql.js';

/** The deliveries that match, newest first (`created_at`, then `id`: a stable keyset order). */
export function findDeliveriesStatement(dialect: Dialect, query: DeliveryQuery): Statement {
  // Placeholders are added in the order they appear in the text (SQLite's `?` are positional).
  const p = new Params(dialect);
  const where: string[] = [];
  if (query.ids !== undefined) where.push(query.ids.length > 0 ? `id IN (${p.list(query.ids)})` : '1 = 0');
  if (query.status?.length) where.push(`status IN (${p.list(query.status)})`);
  if (query.channel !== undefined) where.push(`channel = ${p.add(query.channel)}`);
  if (query.destination !== undefined) where.push(`destination = ${p.add(query.destination)}`);
  if (query.exportId !== undefined) where.push(`export_id = ${p.add(query.exportId)}`);
  if (query.since !== undefined) where.push(`created_at >= ${p.add(dialect.time(query.since))}`);
  if (query.after !== undefined) {
    const { createdAt, id } = query.after;
    where.push(
      `(created_at < ${p.add(dialect.time(createdAt))} OR (created_at = ${p.add(dialect.time(createdAt))} AND id < ${p.add(id)}))`,
    );
  }
  const filter = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
  return {
    text: `SELECT * FROM ${dialect.deliveries}${filter} ORDER BY created_at DESC, id DESC LIMIT ${p.add(Math.max(1, Math.trunc(query.limit)))}`,
    values: p.values,
  };
}

/**
 * Makes these deliveries pending again, due now, their retry period starting now. One that
 * is pending already (waiting, or being sent) is left alone: it is on its way.
 */
export function redeliverStatement(dialect: Dialect, ids: readonly string[], now: Date): Statement {
  const p = new Params(dialect);
  const at = dialect.time(now);
  const set = [
    "status = 'pending'",
    `next_attempt_at = ${p.add(at)}`,
    `redelivered_at = ${p.add(at)}`,
    `updated_at = ${p.add(at)}`,
    'delivered_at = NULL',
    'lease_owner = NULL',
    'lease_expires_at = NULL',
  ];
  return {
    text: `UPDATE ${dialect.deliveries} SET ${set.join(', ')} WHERE id IN (${p.list(ids)}) AND status <> 'pending' RETURNING *`,
    values: p.values,
  };
}
