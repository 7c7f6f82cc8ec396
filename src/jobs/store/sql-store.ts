/**
 * The part of a SQL job store that does not depend on the database: every method but
 * `create` is one statement from sql.ts. Each store supplies how statements run and how
 * `create` gets its transaction.
 */
import type { CreateOptions, CreateResult, JobStore, NewJob } from '../types.js';
import type { Rows } from './create.js';
import {
  byIdStatement,
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
      return (await rows(transitionStatement(dialect, id, when, patch, now))).map(rowToJob)[0];
    },
    async find(query) {
      return (await rows(findStatement(dialect, query))).map(rowToJob);
    },
    async delete(id, owner) {
      return (await rows(deleteStatement(dialect, id, owner))).length > 0;
    },
    close: () => connection.close(),
  };
}
