/**
 * The embedded job store: one SQLite file (WAL, so readers never wait for the writer), shared
 * safely by every process on the machine that opens it (`takeout serve`, `takeout jobs`).
 */
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { coerceError, TakeoutError } from '../../errors.js';
import type { JobStore } from '../types.js';
import { createJobFlow, type Rows } from './create.js';
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
import type { Dialect, Statement } from './sql.js';
import { sqlJobStore } from './sql-store.js';

export interface SqliteJobStoreOptions {
  /** Path of the database file (created with its directory when missing), or `:memory:`. */
  path: string;
  /** How long a write waits for another process's write to finish, ms. Default 5000. */
  busyTimeoutMs?: number;
}

const dialect: Dialect = {
  param: () => '?',
  time: (date) => date.getTime(),
  table: EXPORTS_TABLE,
  deliveries: DELIVERIES_TABLE,
  attempts: ATTEMPTS_TABLE,
  // One writer at a time: a claim's immediate transaction already excludes the others.
  skipLocked: '',
};
const names: TableNames = {
  table: EXPORTS_TABLE,
  deliveries: DELIVERIES_TABLE,
  attempts: ATTEMPTS_TABLE,
  index: EXPORTS_TABLE,
};

/**
 * The job rows hold owners' webhook URLs (with their query secrets), parameters and idempotency
 * keys: the file is made owner-only before SQLite opens it, which would make it 0644 (less the
 * umask), in a data directory that an image or an operator may have made world-readable.
 * SQLite gives its -wal and -shm files the database file's mode. A file an earlier version
 * made readable to others is narrowed too, when this user owns it.
 */
function ownerOnly(path: string): void {
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    } catch (error) {
      // Not there (yet), or another user's file: left as it is.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EPERM') throw error;
    }
  }
}

/** Opens (and migrates) the store. */
export function sqliteJobStore(options: SqliteJobStoreOptions): JobStore & { migrate(): MigrationOutcome } {
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true, mode: 0o700 }); // private, like every directory Takeout makes
  let db: Database.Database;
  try {
    if (options.path !== ':memory:') ownerOnly(options.path);
    db = new Database(options.path, { timeout: options.busyTimeoutMs ?? 5000 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
  } catch (error) {
    // SQLite's words (`file is not a database`, `unable to open database file`) name no secret.
    const why = error instanceof Error ? `: ${error.message}` : '';
    throw new TakeoutError('config_error', `The job database could not be opened${why}`, { cause: error });
  }

  const all = (statement: Statement): Rows => {
    const prepared = db.prepare(statement.text);
    const values = statement.values as unknown[];
    if (prepared.reader) return prepared.all(...values) as Rows;
    prepared.run(...values); // an INSERT or DELETE without RETURNING
    return [];
  };
  const guard = <T>(work: () => T): Promise<T> => {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(error instanceof TakeoutError ? error : storeError(error));
    }
  };

  const migrate = (): MigrationOutcome => {
    db.exec(
      `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
    );
    const apply = db.transaction(() => {
      const row = db.prepare(`SELECT max(version) AS v FROM ${MIGRATIONS_TABLE}`).get() as {
        v: number | null;
      };
      let applied = 0;
      let version = row.v ?? 0;
      for (const migration of migrations({ time: 'INTEGER', json: 'TEXT', bigint: 'INTEGER' })) {
        if (migration.version <= version) continue;
        for (const sql of migration.statements) db.exec(bind(sql, names));
        db.prepare(`INSERT INTO ${MIGRATIONS_TABLE} (version, name, applied_at) VALUES (?, ?, ?)`).run(
          migration.version,
          migration.name,
          Date.now(),
        );
        applied++;
        version = migration.version;
      }
      return { applied, version };
    });
    return apply.immediate();
  };
  try {
    migrate();
  } catch (error) {
    db.close();
    throw storeError(error);
  }

  /** Runs a flow synchronously in one immediate (write-locked) transaction. */
  const transaction = <T>(flow: Flow<T>): Promise<T> =>
    guard(() =>
      db
        .transaction(() => {
          for (let step = flow.next(); ; ) {
            if (step.done) return step.value;
            step = flow.next(all(step.value));
          }
        })
        .immediate(),
    );

  const store = sqlJobStore({
    kind: 'sqlite',
    dialect,
    rows: (statement) => guard(() => all(statement)),
    create: (job, createOptions) => transaction(createJobFlow(dialect, job, createOptions)),
    transaction,
    async close() {
      if (db.open) db.close();
    },
  });
  return Object.assign(store, { migrate });
}

function storeError(error: unknown): TakeoutError {
  const code = (error as { code?: string }).code ?? '';
  // A busy or locked database is another process's long write: worth retrying.
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new TakeoutError('job_store_error', 'The job database is busy', { cause: error });
  }
  if (code.startsWith('SQLITE'))
    return new TakeoutError('job_store_error', 'The job database failed', { cause: error });
  return coerceError(error);
}
