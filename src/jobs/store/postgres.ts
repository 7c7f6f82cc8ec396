/**
 * The job store on PostgreSQL, for many API and worker processes on many machines. Every
 * state change is one conditional UPDATE ... RETURNING, so two processes can never both win.
 */
import pg from 'pg';
import { coerceError, TakeoutError } from '../../errors.js';
import { sqlstateOf } from '../../sources/postgres-errors.js';
import { PG_KEEPALIVE } from '../../sources/postgres-keepalive.js';
import type { JobStore } from '../types.js';
import { createJobFlow } from './create.js';
import {
  ATTEMPTS_TABLE,
  bind,
  DELIVERIES_TABLE,
  EXPORTS_TABLE,
  MIGRATIONS_TABLE,
  type MigrationOutcome,
  migrations,
  type TableNames,
} from './migrations.js';
import type { Flow } from './outbox.js';
import { SCHEMA_IDENTIFIER, SCHEMA_RULE } from './schema-name.js';
import type { Dialect, Statement } from './sql.js';
import { sqlJobStore } from './sql-store.js';

export interface PostgresJobStoreOptions {
  /** `postgres://...`; or give `pool`. */
  connectionString?: string;
  /** A pool of the caller's; it is not ended by `close`. */
  pool?: pg.Pool;
  /** Schema of the tables (created when missing). Default: the connection's search_path. */
  schema?: string;
  /** Pool size when the store makes its own pool. Default 5. */
  maxConnections?: number;
}

/** Key of the advisory lock that serialises migrations across processes. */
const MIGRATION_LOCK = 0x74616b65; // "take"

export interface PostgresJobStore extends JobStore {
  migrate(): Promise<MigrationOutcome>;
}

/** Opens (and migrates) the store. */
export async function postgresJobStore(options: PostgresJobStoreOptions): Promise<PostgresJobStore> {
  if (options.schema !== undefined && !SCHEMA_IDENTIFIER.test(options.schema)) {
    throw new TakeoutError('config_error', `The job store schema must be ${SCHEMA_RULE}`);
  }
  const qualify = (name: string) => (options.schema ? `"${options.schema}".${name}` : name);
  const dialect: Dialect = {
    param: (n) => `$${n}`,
    time: (date) => date,
    table: qualify(EXPORTS_TABLE),
    deliveries: qualify(DELIVERIES_TABLE),
    attempts: qualify(ATTEMPTS_TABLE),
    // Concurrent dispatchers each take other due deliveries instead of waiting on one another.
    skipLocked: ' FOR UPDATE SKIP LOCKED',
  };
  const names: TableNames = {
    table: dialect.table,
    deliveries: dialect.deliveries,
    attempts: dialect.attempts,
    index: EXPORTS_TABLE,
  };
  const ownPool = !options.pool;
  const pool =
    options.pool ??
    new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 5,
      application_name: 'takeout-jobs',
      ...PG_KEEPALIVE,
    });
  // An idle client's error (the server restarted) must not crash the process.
  if (ownPool) pool.on('error', () => {});
  // Nor a lent-out client's: the pool may hand a client to a waiting `connect()` in the same
  // socket read that brings the server's FATAL (a terminated backend), before the borrower could
  // listen. So every client gets a listener of its own the moment it is handed out.
  const heard = new WeakSet<pg.PoolClient>();
  pool.on('acquire', (client) => {
    if (heard.has(client)) return;
    heard.add(client);
    client.on('error', () => {});
  });

  const query = async (statement: Statement, client: pg.ClientBase | pg.Pool = pool) => {
    try {
      return (await client.query(statement.text, statement.values)).rows as Record<string, unknown>[];
    } catch (error) {
      throw storeError(error);
    }
  };

  const inTransaction = async <T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw storeError(error);
    }
    try {
      await client.query('BEGIN');
      const value = await work(client);
      await client.query('COMMIT');
      client.release();
      return value;
    } catch (error) {
      await client.query('ROLLBACK').then(
        () => client.release(),
        (rollbackError: Error) => client.release(rollbackError),
      );
      throw storeError(error);
    }
  };

  /** Runs a flow's statements on `client`, each fed the rows of the one before. */
  const drive = async <T>(flow: Flow<T>, client: pg.PoolClient): Promise<T> => {
    for (let step = flow.next(); ; ) {
      if (step.done) return step.value;
      step = flow.next(await query(step.value, client));
    }
  };

  const migrate = () =>
    inTransaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      if (options.schema) await client.query(`CREATE SCHEMA IF NOT EXISTS "${options.schema}"`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${qualify(MIGRATIONS_TABLE)} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
      );
      const { rows } = await client.query(`SELECT max(version) AS v FROM ${qualify(MIGRATIONS_TABLE)}`);
      let version = Number((rows[0] as { v: number | null }).v ?? 0);
      let applied = 0;
      for (const migration of migrations({ time: 'TIMESTAMPTZ', json: 'JSONB', bigint: 'BIGINT' })) {
        if (migration.version <= version) continue;
        for (const sql of migration.statements) {
          await client.query(bind(sql, names));
        }
        await client.query(`INSERT INTO ${qualify(MIGRATIONS_TABLE)} (version, name) VALUES ($1, $2)`, [
          migration.version,
          migration.name,
        ]);
        applied++;
        version = migration.version;
      }
      return { applied, version };
    });

  try {
    await migrate();
  } catch (error) {
    if (ownPool) await pool.end().catch(() => {});
    throw openingError(error);
  }

  const store = sqlJobStore({
    kind: 'postgres',
    dialect,
    rows: (statement) => query(statement),
    create: (job, createOptions) =>
      inTransaction(async (client) => {
        // Creates of one owner take turns, so the active-jobs limit holds under concurrency.
        await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
          JSON.stringify([job.owner.tenant ?? '', job.owner.id]),
        ]);
        return drive(createJobFlow(dialect, job, createOptions), client);
      }),
    transaction: (flow) => inTransaction((client) => drive(flow, client)),
    async close() {
      if (ownPool) await pool.end().catch(() => {});
    },
  });
  return Object.assign(store, { migrate });
}

/** Node's socket errors (ECONNREFUSED, ETIMEDOUT, ...), and pg's words for a dropped connection. */
const UNREACHABLE = /ECONNREFUSED|ECONNRESET|timeout|terminat|not queryable|connection error/i;
const SSL_REFUSED = /^The server does not support SSL connections$/;

/**
 * What the job store's callers see of a database failure (an API answer among them): never the
 * server's message, which may quote values, nor the connection string. The SQLSTATE goes into
 * `details`, the driver's error into `cause` (for whoever opens the store: reason.ts).
 */
export function storeError(error: unknown): TakeoutError {
  if (error instanceof TakeoutError) return error;
  const sqlstate = sqlstateOf(error);
  if (sqlstate !== undefined) {
    return new TakeoutError('job_store_error', 'The job database failed', {
      cause: error,
      details: { sqlstate },
    });
  }
  // pg's own refusal before any query: `sslmode=require` against a server without SSL. Its
  // words quote no value, and say what to change.
  if (error instanceof Error && SSL_REFUSED.test(error.message)) {
    return new TakeoutError(
      'job_store_error',
      `The job database refused the connection: ${error.message} (see sslmode in DATABASE_URL)`,
      { cause: error },
    );
  }
  const code = (error as { code?: unknown } | null)?.code;
  const errno = typeof code === 'string' && /^E[A-Z]+$/.test(code) && code !== 'ERR_INVALID_URL';
  if (errno || (error instanceof Error && UNREACHABLE.test(error.message))) {
    return new TakeoutError('job_store_error', 'The job database is not reachable', { cause: error });
  }
  return coerceError(error);
}

/**
 * A store that cannot open says why, for whoever starts the process: a connection string pg
 * cannot parse (a password with an unencoded `#` or `@`) is a config_error, not an internal one.
 */
function openingError(error: unknown): TakeoutError {
  const mapped = storeError(error);
  const cause = mapped.cause ?? error;
  if (mapped.code !== 'internal' || !(cause instanceof TypeError) || !/url/i.test(cause.message)) {
    return mapped;
  }
  return new TakeoutError(
    'config_error',
    'The job database connection string is not a valid PostgreSQL URL (percent-encode @ : / ? # in a password)',
  );
}
