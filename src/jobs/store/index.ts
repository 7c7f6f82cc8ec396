import { join } from 'node:path';
import type { JobStore } from '../types.js';

export interface OpenJobStoreOptions {
  /** `postgres://...`; unset: the SQLite file `jobs.db` in `dataDir`. */
  databaseUrl?: string | undefined;
  /** PostgreSQL schema of the job tables. */
  schema?: string | undefined;
  dataDir: string;
}

/** A job store with its migrations applied. `migrate()` applies (again) and says how many were new. */
export type MigratedJobStore = JobStore & { migrate(): number | Promise<number> };

/** Opens the configured job store; pg is loaded only for PostgreSQL. */
export async function openJobStore(options: OpenJobStoreOptions): Promise<MigratedJobStore> {
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
