/**
 * The job store of `takeout jobs` and `takeout migrate`, configured like the server's:
 * DATABASE_URL (PostgreSQL) or the SQLite file in TAKEOUT_DATA_DIR. Its failures say why
 * (the database's own words, as `export --postgres` prints them), never with a password.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isTakeoutError, TakeoutError } from '../errors.js';
import { jobSettingsFromEnv } from '../jobs/config.js';
import { type MigratedJobStore, openJobStore } from '../jobs/store/index.js';
import { postgresUrlProblem } from './flags.js';
import { CommandError } from './usage.js';

/** The database's reason behind a store failure, on one line. */
function withReason(error: unknown): unknown {
  if (!isTakeoutError(error) || (error.code !== 'job_store_error' && error.code !== 'internal')) return error;
  const cause = error.cause instanceof Error ? error.cause : undefined;
  const reason = cause?.message || (cause as { code?: string } | undefined)?.code;
  if (!reason) return error;
  // The printed line is scrubbed of passwords (run.ts); the reason is the driver's text.
  return new TakeoutError(error.code, `${error.message} (${reason.replace(/\s+/g, ' ')})`, { cause });
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
    throw withReason(error);
  }
  try {
    return await work(store);
  } catch (error) {
    throw withReason(error);
  } finally {
    await store.close();
  }
}
