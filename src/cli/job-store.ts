/**
 * The job store of `takeout jobs` and `takeout migrate`, configured like the server's:
 * DATABASE_URL (PostgreSQL) or the SQLite file in TAKEOUT_DATA_DIR. Its failures say why
 * (the database's own words, as `export --postgres` prints them), never with a password.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { TakeoutError } from '../errors.js';
import { jobSettingsFromEnv } from '../jobs/config.js';
import { type MigratedJobStore, openJobStore } from '../jobs/store/index.js';
import { MIGRATIONS_TABLE } from '../jobs/store/migrations.js';
import { withDatabaseReason } from '../jobs/store/reason.js';
import { SCHEMA_IDENTIFIER } from '../jobs/store/schema-name.js';
import { PG_KEEPALIVE } from '../sources/postgres-keepalive.js';
import { postgresUrlProblem } from '../sources/postgres-url.js';
import { CommandError } from './usage.js';

/** Where a job store is (or would be), and its schema version there: undefined when there is none. */
export interface StoreState {
  where: string;
  version: number | undefined;
}

/**
 * The PostgreSQL job store of `url` and `schema` (or the connection's search_path), asked
 * without creating anything.
 */
async function postgresStoreState(url: string, schema: string | undefined): Promise<StoreState | undefined> {
  // Loaded on demand, as the store is: SQLite users never load pg.
  const { storeError } = await import('../jobs/store/postgres.js');
  // A name the store refuses is left to it to say so (before it connects).
  if (schema !== undefined && !SCHEMA_IDENTIFIER.test(schema)) return undefined;
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, application_name: 'takeout-jobs', ...PG_KEEPALIVE });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query(
      'SELECT to_regclass($1)::text AS table, current_database() AS db, current_schemas(false)::text[] AS path',
      [schema ? `"${schema}".${MIGRATIONS_TABLE}` : MIGRATIONS_TABLE],
    );
    const found = rows[0] as { table: string | null; db: string; path: string[] };
    const where = `database ${found.db}, ${schema ? `schema ${schema}` : `search_path ${found.path.join(', ') || '(no schema)'}`}`;
    if (found.table === null) return { where, version: undefined };
    // The name comes from to_regclass: quoted as PostgreSQL itself would print it.
    const max = await client.query(`SELECT max(version) AS v FROM ${found.table}`);
    return { where, version: Number(max.rows[0].v ?? 0) };
  } catch (error) {
    throw withDatabaseReason(storeError(error));
  } finally {
    await client.end().catch(() => {});
  }
}

/** The SQLite job store of `dataDir`, read without creating it. */
function sqliteStoreState(dataDir: string): StoreState {
  const path = join(dataDir, 'jobs.db');
  if (!existsSync(path)) return { where: path, version: undefined };
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      const table = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?")
        .get(MIGRATIONS_TABLE);
      if (!table) return { where: path, version: undefined };
      const row = db.prepare(`SELECT max(version) AS v FROM ${MIGRATIONS_TABLE}`).get() as {
        v: number | null;
      };
      return { where: path, version: row.v ?? 0 };
    } finally {
      db.close();
    }
  } catch {
    // Not a database, or unreadable: opening the store says why.
    return { where: path, version: undefined };
  }
}

/** The configured job store's place and version, as it is before anything opens it. */
export async function storeState(env: NodeJS.ProcessEnv): Promise<StoreState | undefined> {
  const settings = jobSettingsFromEnv(env);
  if (!settings.databaseUrl) return sqliteStoreState(resolve(env.TAKEOUT_DATA_DIR || 'data'));
  if (postgresUrlProblem(settings.databaseUrl, 'DATABASE_URL')) return undefined;
  return postgresStoreState(settings.databaseUrl, settings.databaseSchema);
}

export interface StoreOptions {
  /** Create the store (SQLite file, PostgreSQL tables) when there is none: `migrate` only. */
  create: boolean;
}

export async function withStore<T>(
  env: NodeJS.ProcessEnv,
  options: StoreOptions,
  work: (store: MigratedJobStore) => Promise<T>,
): Promise<T> {
  const settings = jobSettingsFromEnv(env);
  const dataDir = resolve(env.TAKEOUT_DATA_DIR || 'data');
  if (settings.databaseUrl) {
    const problem = postgresUrlProblem(settings.databaseUrl, 'DATABASE_URL');
    if (problem) throw new TakeoutError('config_error', problem);
    const state = options.create
      ? undefined
      : await postgresStoreState(settings.databaseUrl, settings.databaseSchema);
    const missing = state && state.version === undefined ? state.where : undefined;
    if (missing) {
      // As with SQLite: reading must not create the schema and tables (of a mistyped database).
      throw new CommandError(
        'no_job_store',
        `There is no job store in ${missing} (no ${MIGRATIONS_TABLE} table): set DATABASE_URL, and TAKEOUT_DATABASE_SCHEMA if the service has one, to the service's`,
      );
    }
  } else if (!options.create && !existsSync(join(dataDir, 'jobs.db'))) {
    // Reading must not leave an empty store behind (in a mistyped directory, most often).
    throw new CommandError(
      'no_job_store',
      `There is no job store in ${dataDir} (no jobs.db): set TAKEOUT_DATA_DIR to the service's data directory, or DATABASE_URL`,
    );
  }
  let store: MigratedJobStore;
  try {
    store = await openJobStore({
      databaseUrl: settings.databaseUrl,
      schema: settings.databaseSchema,
      dataDir,
    });
  } catch (error) {
    throw withDatabaseReason(error);
  }
  try {
    return await work(store);
  } catch (error) {
    throw withDatabaseReason(error);
  } finally {
    await store.close();
  }
}
