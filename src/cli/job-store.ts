/**
 * The job store of `takeout jobs` and `takeout migrate`, configured like the server's:
 * DATABASE_URL (PostgreSQL) or the SQLite file in TAKEOUT_DATA_DIR. Its failures say why
 * (the database's own words, as `export --postgres` prints them), never with a password.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TakeoutError } from '../errors.js';
import { jobSettingsFromEnv } from '../jobs/config.js';
import { type MigratedJobStore, openJobStore } from '../jobs/store/index.js';
import { MIGRATIONS_TABLE } from '../jobs/store/migrations.js';
import { withDatabaseReason } from '../jobs/store/reason.js';
import { SCHEMA_IDENTIFIER } from '../jobs/store/schema-name.js';
import { PG_KEEPALIVE } from '../sources/postgres-keepalive.js';
import { postgresUrlProblem } from '../sources/postgres-url.js';
import { CommandError } from './usage.js';

/**
 * Where a PostgreSQL job store would be, when there is none there (no migrations table in
 * the schema, or on the connection's search_path): asked without creating anything.
 */
async function missingPostgresStore(url: string, schema: string | undefined): Promise<string | undefined> {
  // Loaded on demand, as the store is: SQLite users never load pg.
  const { storeError } = await import('../jobs/store/postgres.js');
  // A name the store refuses is left to it to say so (before it connects).
  if (schema !== undefined && !SCHEMA_IDENTIFIER.test(schema)) return undefined;
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, application_name: 'takeout-jobs', ...PG_KEEPALIVE });
  client.on('error', () => {});
  let found: { table: string | null; db: string; path: string[] };
  try {
    await client.connect();
    const { rows } = await client.query(
      'SELECT to_regclass($1)::text AS table, current_database() AS db, current_schemas(false)::text[] AS path',
      [schema ? `"${schema}".${MIGRATIONS_TABLE}` : MIGRATIONS_TABLE],
    );
    found = rows[0];
  } catch (error) {
    throw withDatabaseReason(storeError(error));
  } finally {
    await client.end().catch(() => {});
  }
  if (found.table !== null) return undefined;
  const where = schema ? `schema ${schema}` : `search_path ${found.path.join(', ') || '(no schema)'}`;
  return `database ${found.db}, ${where}`;
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
    const missing = options.create
      ? undefined
      : await missingPostgresStore(settings.databaseUrl, settings.databaseSchema);
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
