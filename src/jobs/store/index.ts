import { join } from 'node:path';
import type { JobStore } from '../types.js';
import type { MigrationOutcome } from './migrations.js';
import { withDatabaseReason } from './reason.js';

export interface OpenJobStoreOptions {
  /** `postgres://...`; unset: the SQLite file `jobs.db` in `dataDir`. */
  databaseUrl?: string | undefined;
  /** PostgreSQL schema of the job tables. */
  schema?: string | undefined;
  dataDir: string;
}

/** A job store with its migrations applied. `migrate()` applies (again) what is missing. */
export type MigratedJobStore = JobStore & { migrate(): MigrationOutcome | Promise<MigrationOutcome> };

/**
 * Opens the configured job store; pg is loaded only for PostgreSQL. A store that will not open
 * says the database's reason (the process is starting: its operator reads it).
 */
export async function openJobStore(options: OpenJobStoreOptions): Promise<MigratedJobStore> {
  try {
    return await openConfigured(options);
  } catch (error) {
    throw withDatabaseReason(error);
  }
}

async function openConfigured(options: OpenJobStoreOptions): Promise<MigratedJobStore> {
  if (options.databaseUrl) {
    const { postgresJobStore } = await import('./postgres.js');
    return postgresJobStore({
      connectionString: options.databaseUrl,
      ...(options.schema ? { schema: options.schema } : {}),
    });
  }
  const { sqliteJobStore } = await import('./sqlite.js');
  return sqliteJobStore({ path: join(options.dataDir, 'jobs.db') });
}
