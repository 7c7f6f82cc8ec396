import { dirname, isAbsolute, resolve } from 'node:path';
import { readConfigFile } from '../config-file.js';
import { TakeoutError } from '../errors.js';
import { DeclarationError, declaredName } from './declaration.js';
import { type Dataset, type DatasetDefinition, defineDataset } from './define.js';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * What the file may not say though code may (an inline PostgreSQL URL), and SQLite paths made
 * relative to the file. Anything else is left to defineDataset, which checks every member.
 */
function fromFile(raw: unknown, dir: string): unknown {
  if (!isObject(raw) || !isObject(raw.connection)) return raw;
  const { connection } = raw;
  if (isObject(connection.postgres) && Object.hasOwn(connection.postgres, 'url')) {
    throw new DeclarationError(
      declaredName(raw),
      ['connection', 'postgres', 'url'],
      'may not be in the file: give the name of an environment variable holding it as urlEnv',
    );
  }
  const path = connection.sqlite;
  if (typeof path !== 'string' || path === '' || isAbsolute(path)) return raw;
  return { ...raw, connection: { ...connection, sqlite: resolve(dir, path) } };
}

/**
 * Loads datasets from `takeout.config.json` (or a `.js`/`.mjs` module whose default export has
 * the same shape): `{ "datasets": [ { name, title, connection, sql, params, columns, scope } ] }`.
 * SQLite paths are relative to the config file. PostgreSQL connections name an environment
 * variable (`{ "postgres": { "urlEnv": "DATABASE_URL" } }`) so no secret sits in the file.
 * A mistake is a `config_error` naming the file and the member (`datasets[2].connection`).
 */
export async function loadDatasetsFile(path: string): Promise<Dataset[]> {
  const dir = dirname(resolve(path));
  const config = await readConfigFile(path);
  const datasets = (config as { datasets?: unknown })?.datasets;
  if (!Array.isArray(datasets))
    throw new TakeoutError('config_error', `${path}: "datasets" must be an array`);
  const seen = new Map<string, number>();
  return datasets.map((raw: unknown, index) => {
    let dataset: Dataset;
    try {
      dataset = defineDataset(fromFile(raw, dir) as DatasetDefinition);
    } catch (error) {
      throw error instanceof DeclarationError ? error.inFile(path, index) : error;
    }
    const first = seen.get(dataset.name);
    if (first !== undefined) {
      throw new TakeoutError(
        'config_error',
        `${path}: datasets[${index}].name repeats datasets[${first}].name`,
      );
    }
    seen.set(dataset.name, index);
    return dataset;
  });
}
