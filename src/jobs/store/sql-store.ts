/**
 * The part of a SQL job store that does not depend on the database: every method is one
 * statement from sql.ts, or a flow of statements (outbox.ts) run in one transaction. Each
 * store supplies how statements run and how `create` and flows get their transaction.
 */
import type { CreateOptions, CreateResult, JobStatus, JobStore, NewJob } from '../types.js';
import type { Rows } from './create.js';
import {
  announces,
  attemptsStatement,
  backlogStatement,
  claimDeliveriesStatement,
  deliveriesStatement,
  type Flow,
  purgeFlow,
  recordAttemptFlow,
  rowToAttempt,
  rowToBacklog,
  rowToDelivery,
  transitionFlow,
} from './outbox.js';
import { findDeliveriesStatement, redeliverStatement } from './outbox-admin.js';
import {
  byIdStatement,
  countStatement,
  type Dialect,
  deleteStatement,
  findStatement,
  listStatement,
  rowToJob,
  type Statement,
  toPage,
  transitionStatement,
} from './sql.js';

export interface SqlConnection {
  kind: string;
  dialect: Dialect;
  /** Runs one statement; the rows it returns (errors already mapped to TakeoutErrors). */
  rows(statement: Statement): Promise<Rows>;
  /** Runs `createJobFlow` in one transaction. */
  create(job: NewJob, options: CreateOptions): Promise<CreateResult>;
  /** Runs a flow's statements in one transaction, each fed the rows of the one before. */
  transaction<T>(flow: Flow<T>): Promise<T>;
  close(): Promise<void>;
}

export function sqlJobStore(connection: SqlConnection): JobStore {
  const { dialect, rows } = connection;
  return {
    kind: connection.kind,
    create: (job, options = {}) => connection.create(job, options),
    async get(id, owner) {
      return (await rows(byIdStatement(dialect, id, owner))).map(rowToJob)[0];
    },
    async list(owner, query = {}) {
      const statement = listStatement(dialect, owner, query);
      return toPage((await rows(statement)).map(rowToJob), statement.limit);
    },
    async transition(id, when, patch, now = new Date()) {
      if (announces(patch)) return connection.transaction(transitionFlow(dialect, id, when, patch, now));
      return (await rows(transitionStatement(dialect, id, when, patch, now))).map(rowToJob)[0];
    },
    async find(query) {
      return (await rows(findStatement(dialect, query))).map(rowToJob);
    },
    async countByStatus() {
      const counts: Partial<Record<JobStatus, number>> = {};
      for (const row of await rows(countStatement(dialect))) {
        counts[row.status as JobStatus] = Number(row.n);
      }
      return counts;
    },
    async delete(id, owner) {
      return (await rows(deleteStatement(dialect, id, owner))).length > 0;
    },
    async claimDeliveries(options) {
      return (await rows(claimDeliveriesStatement(dialect, options))).map(rowToDelivery);
    },
    recordAttempt: (id, leaseOwner, outcome) =>
      connection.transaction(recordAttemptFlow(dialect, id, leaseOwner, outcome)),
    async deliveries(exportId) {
      return (await rows(deliveriesStatement(dialect, exportId))).map(rowToDelivery);
    },
    async deliveryAttempts(id) {
      return (await rows(attemptsStatement(dialect, id))).map(rowToAttempt);
    },
    purgeDeliveries: (before) => connection.transaction(purgeFlow(dialect, before)),
    async deliveryBacklog() {
      return rowToBacklog((await rows(backlogStatement(dialect)))[0]);
    },
    async findDeliveries(query) {
      return (await rows(findDeliveriesStatement(dialect, query))).map(rowToDelivery);
    },
    async redeliver(ids, now = new Date()) {
      if (ids.length === 0) return [];
      return (await rows(redeliverStatement(dialect, ids, now))).map(rowToDelivery);
    },
    close: () => connection.close(),
  };
}
