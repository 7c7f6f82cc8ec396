import { dirname, isAbsolute, resolve } from 'node:path';
import { readConfigFile } from '../config-file.js';
import { TakeoutError } from '../errors.js';
import { type Dataset, type DatasetDefinition, defineDataset } from './define.js';

/**
 * Loads datasets from `takeout.config.json` (or a `.js`/`.mjs` module whose default export has
 * the same shape): `{ "datasets": [ { name, title, connection, sql, params, columns, scope } ] }`.
 * SQLite paths are relative to the config file. PostgreSQL connections name an environment
 * variable (`{ "postgres": { "urlEnv": "DATABASE_URL" } }`) so no secret sits in the file.
 */
export async function loadDatasetsFile(path: string): Promise<Dataset[]> {
  const absolute = resolve(path);
  const config = await readConfigFile(path);
  const datasets = (config as { datasets?: unknown })?.datasets;
  if (!Array.isArray(datasets))
    throw new TakeoutError('config_error', `${path}: "datasets" must be an array`);
  return datasets.map((raw: DatasetDefinition) => {
    const connection = raw.connection;
    if (connection && 'sqlite' in connection && !isAbsolute(connection.sqlite)) {
      return defineDataset({ ...raw, connection: { sqlite: resolve(dirname(absolute), connection.sqlite) } });
    }
    if (connection && 'postgres' in connection && 'url' in connection.postgres) {
      throw new TakeoutError(
        'config_error',
        `${path}: dataset ${raw.name}: give the PostgreSQL URL as urlEnv, not in the file`,
      );
    }
    return defineDataset(raw);
  });
}
