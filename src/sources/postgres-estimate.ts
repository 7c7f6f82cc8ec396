import type pg from 'pg';
import { RawJson } from '../raw-json.js';
import { mapPostgresError, sqlstateOf } from './postgres-errors.js';
import { PARSERS, trimQuery } from './postgres-session.js';

/**
 * Row estimates for the sync/async decision. `plan`: the planner's estimate of the query's
 * top node (`EXPLAIN (FORMAT JSON)`, "Plan Rows"): cheap, as good as the table statistics;
 * a time-capped exact count is the fallback. `count`: `count(*)` of the query, capped by
 * `timeoutMs`, with the planner's estimate as fallback. Undefined when both give up
 * (timeout). A query the database rejects throws its mapped error.
 */
export async function estimateRows(
  client: pg.ClientBase,
  query: { text: string; values: unknown[] },
  mode: 'plan' | 'count',
  timeoutMs: number,
  inTransaction: boolean,
): Promise<number | undefined> {
  const text = trimQuery(query.text);
  const plan = async (): Promise<number | undefined> => {
    const result = await client.query({
      text: `EXPLAIN (FORMAT JSON) ${text}`,
      values: query.values,
      rowMode: 'array',
      types: PARSERS,
    });
    // The plan is a json column: read as a document's exact text (RawJson), parsed here.
    const cell = (result.rows[0] as unknown[] | undefined)?.[0];
    const rows = (cell instanceof RawJson ? cell.value : cell) as
      | { Plan?: { 'Plan Rows'?: unknown } }[]
      | undefined;
    const n = rows?.[0]?.Plan?.['Plan Rows'];
    return typeof n === 'number' && Number.isFinite(n) ? Math.round(n) : undefined;
  };
  const count = async (): Promise<number | undefined> => {
    const result = await client.query({
      text: `SELECT count(*) FROM (\n${text}\n) AS takeout_count`,
      values: query.values,
      rowMode: 'array',
      types: PARSERS,
    });
    const n = (result.rows[0] as unknown[] | undefined)?.[0];
    return typeof n === 'number' ? n : undefined;
  };
  // Each attempt in a savepoint, so a timeout leaves the transaction usable for the next one.
  const attempt = async (fn: () => Promise<number | undefined>): Promise<number | undefined> => {
    await client.query('SAVEPOINT takeout_try').catch((error: unknown) => {
      throw mapPostgresError(error);
    });
    try {
      const n = await fn();
      await client.query('RELEASE SAVEPOINT takeout_try');
      return n;
    } catch (error) {
      // A connection lost meanwhile fails this too: the first failure is the one to report.
      const rolledBack = await client
        .query('ROLLBACK TO SAVEPOINT takeout_try; RELEASE SAVEPOINT takeout_try')
        .then(
          () => true,
          () => false,
        );
      if (rolledBack && sqlstateOf(error) === '57014') return undefined;
      throw mapPostgresError(error);
    }
  };
  const begin = inTransaction ? 'SAVEPOINT takeout_estimate' : 'BEGIN READ ONLY';
  // ROLLBACK TO SAVEPOINT also undoes the SET LOCAL: the export's own timeout comes back.
  const end = inTransaction
    ? 'ROLLBACK TO SAVEPOINT takeout_estimate; RELEASE SAVEPOINT takeout_estimate'
    : 'ROLLBACK';
  try {
    await client.query(`${begin}; SET LOCAL statement_timeout = ${Math.trunc(timeoutMs)}`);
  } catch (error) {
    throw mapPostgresError(error);
  }
  try {
    const [first, second] = mode === 'plan' ? [plan, count] : [count, plan];
    return (await attempt(first)) ?? (await attempt(second));
  } finally {
    await client.query(end).catch(() => {});
  }
}
