/**
 * The connections of the config file's datasets, checked when the service starts: a SQLite
 * file that is missing or is no database, SQL that SQLite cannot prepare, a PostgreSQL URL
 * variable that is unset or malformed. Otherwise the service would start, list the dataset,
 * and fail every request for it: the operator's mistake, found by its users.
 * PostgreSQL SQL is not checked here: that needs the database, which may start later.
 */
import Database from 'better-sqlite3';
import { didYouMean } from '../did-you-mean.js';
import { TakeoutError } from '../errors.js';
import { postgresUrlProblem } from '../sources/postgres-url.js';
import type { Dataset } from './define.js';

export function checkDatasetConnections(
  datasets: readonly Dataset[],
  file: string,
  env: NodeJS.ProcessEnv,
): void {
  for (const dataset of datasets) {
    const where = `${file} (dataset "${dataset.name}")`;
    const connection = dataset.connection;
    if (!connection) continue;
    if ('sqlite' in connection) checkSqlite(connection.sqlite, dataset, where);
    else if ('urlEnv' in connection.postgres) checkPostgresUrl(connection.postgres.urlEnv, env, where);
  }
}

/** The environment variables the datasets' connections name (`urlEnv`). */
export function datasetVariables(datasets: readonly Dataset[]): string[] {
  return datasets.flatMap((dataset) => {
    const postgres =
      dataset.connection && 'postgres' in dataset.connection ? dataset.connection.postgres : undefined;
    return postgres && 'urlEnv' in postgres ? [postgres.urlEnv] : [];
  });
}

function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
}

/**
 * The file opens read-only, the SQL prepares and returns rows (a DELETE would fail every
 * request as the caller's `source_query_error`), and every declared column is one it returns.
 */
function checkSqlite(path: string, dataset: Dataset, where: string): void {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new TakeoutError(
      'config_error',
      `${where}: connection.sqlite cannot be opened: ${reasonOf(error)}`,
    );
  }
  try {
    let statement: Database.Statement;
    try {
      statement = db.prepare(dataset.sql ?? '');
    } catch (error) {
      throw new TakeoutError('config_error', `${where}: sql does not prepare: ${reasonOf(error)}`);
    }
    if (!statement.reader)
      throw new TakeoutError(
        'config_error',
        `${where}: sql returns no rows: give a SELECT (or WITH ... SELECT)`,
      );
    const returned = statement.columns().map((column) => column.name);
    for (const [i, column] of (dataset.columns ?? []).entries()) {
      if (returned.includes(column.key)) continue;
      throw new TakeoutError(
        'config_error',
        `${where}: columns[${i}].key ${JSON.stringify(column.key)} is not a column its sql returns${didYouMean(column.key, returned)}; it returns ${returned.join(', ')}`,
      );
    }
  } finally {
    db.close();
  }
}

function checkPostgresUrl(name: string, env: NodeJS.ProcessEnv, where: string): void {
  const url = env[name];
  if (url === undefined || url.trim() === '') {
    throw new TakeoutError(
      'config_error',
      `${where}: connection.postgres.urlEnv names ${name}, which is not set`,
    );
  }
  const problem = postgresUrlProblem(url, name);
  if (problem) throw new TakeoutError('config_error', `${where}: ${problem}`);
}
