import { didYouMean } from '../did-you-mean.js';
import { TakeoutError } from '../errors.js';
import { postgresUrlProblem } from '../sources/postgres-url.js';
import { sqliteSource } from '../sources/sqlite.js';
import type { Source } from '../types.js';
import { type Dataset, type Principal, scopeValues } from './define.js';
import { type ParamSpec, type ParamValue, validateParams } from './params.js';
import type { PostgresPools } from './pools.js';

/**
 * Whether a principal sees a dataset: `visibleTo` allows it, and the principal has every
 * attribute the scope binds (without one the dataset could not be scoped to it). `list` and
 * `get` both ask this, so they always agree.
 */
export function isVisible(dataset: Dataset, principal: Principal): boolean {
  if (!(dataset.visibleTo?.(principal) ?? true)) return false;
  return Object.values(dataset.scope).every((attribute) => {
    const value = principal[attribute];
    return typeof value === 'string' || typeof value === 'number';
  });
}

/** The datasets a deployment offers, looked up per principal. */
export class DatasetRegistry {
  private readonly byName = new Map<string, Dataset>();

  constructor(datasets: Iterable<Dataset> = []) {
    for (const dataset of datasets) this.add(dataset);
  }

  add(dataset: Dataset): void {
    if (this.byName.has(dataset.name)) {
      throw new TakeoutError('config_error', `Dataset ${JSON.stringify(dataset.name)} is defined twice`);
    }
    this.byName.set(dataset.name, dataset);
  }

  /** Every dataset, whoever may export it: for the operator's checks, never for an answer. */
  all(): Dataset[] {
    return [...this.byName.values()];
  }

  /** Datasets the principal may export. */
  list(principal: Principal): Dataset[] {
    return [...this.byName.values()].filter((d) => isVisible(d, principal));
  }

  /** A dataset the principal may export; otherwise `unknown_dataset` (existence is not revealed). */
  get(name: unknown, principal: Principal): Dataset {
    const dataset = typeof name === 'string' ? this.byName.get(name) : undefined;
    if (!dataset || !isVisible(dataset, principal)) {
      // The likely one among those the principal sees: a hidden dataset is never named.
      const hint =
        typeof name === 'string'
          ? didYouMean(
              name,
              this.list(principal).map((d) => d.name),
            )
          : '';
      throw new TakeoutError(
        'unknown_dataset',
        `Unknown dataset ${JSON.stringify(name)?.slice(0, 80)}${hint}`,
      );
    }
    return dataset;
  }
}

/**
 * A parameter's default as it is bound (`"0"` declared for an `integer` is `0`), so the listing
 * shows what a request that leaves it out gets. Checked when the dataset was defined.
 */
function boundDefault(name: string, spec: ParamSpec): { default?: unknown } {
  if (spec.default === undefined || spec.default === null) return {};
  // A datetime's bound form is the UTC instant it names; the declared text says the same.
  if (spec.type === 'datetime') return {};
  return { default: validateParams({ [name]: spec }, {})[name] };
}

/** What `GET /v1/datasets` shows of a dataset: never its SQL or connection. */
export function describeDataset(dataset: Dataset): Record<string, unknown> {
  return {
    name: dataset.name,
    title: dataset.title ?? dataset.name,
    ...(dataset.description ? { description: dataset.description } : {}),
    params: Object.entries(dataset.params).map(([name, spec]) => ({
      name,
      ...spec,
      ...boundDefault(name, spec),
    })),
    ...(dataset.columns ? { columns: dataset.columns } : {}),
  };
}

/**
 * SQLite keeps datetimes as text in its own form, `YYYY-MM-DD HH:MM:SS` (what `datetime()`
 * writes), and compares text: an ISO `T` would sort after the space and miss same-day rows.
 */
function sqliteDatetimes(dataset: Dataset, params: Record<string, ParamValue>): Record<string, ParamValue> {
  const out = { ...params };
  for (const [name, spec] of Object.entries(dataset.params)) {
    const value = out[name];
    if (spec.type === 'datetime' && typeof value === 'string') {
      out[name] = value.replace('T', ' ').replace(/\.000Z$|Z$/, '');
    }
  }
  return out;
}

export interface OpenOptions {
  estimateCap: number;
  /** Where a PostgreSQL connection's `urlEnv` is read. Default `process.env`. */
  env?: NodeJS.ProcessEnv | undefined;
  /** Shared pools for PostgreSQL datasets; without them each export opens its own client. */
  pools?: PostgresPools | undefined;
}

/** Validates parameters, binds the scope, and opens the dataset's source. */
export async function openDatasetSource(
  dataset: Dataset,
  requestParams: unknown,
  principal: Principal,
  options: OpenOptions,
): Promise<Source> {
  const scoped = scopeValues(dataset, principal);
  const params = {
    ...validateParams(dataset.params, requestParams, new Set(Object.keys(dataset.scope))),
    ...scoped,
  };
  if (dataset.source) return dataset.source({ params, principal, estimateCap: options.estimateCap });
  const connection = dataset.connection!;
  const sql = dataset.sql!;
  if ('sqlite' in connection) {
    return sqliteSource({
      database: connection.sqlite,
      sql,
      params: sqliteDatetimes(dataset, params),
      // Limits may be unbounded (Infinity, a library caller's): the count stops at some number.
      estimateCap: Number.isFinite(options.estimateCap)
        ? Math.min(Math.max(1, Math.floor(options.estimateCap)), Number.MAX_SAFE_INTEGER)
        : Number.MAX_SAFE_INTEGER,
    });
  }
  const url =
    'url' in connection.postgres
      ? connection.postgres.url
      : (options.env ?? process.env)[connection.postgres.urlEnv];
  if (!url) {
    throw new TakeoutError(
      'config_error',
      'url' in connection.postgres
        ? `Dataset ${JSON.stringify(dataset.name)}: its PostgreSQL url is empty`
        : `Dataset ${JSON.stringify(dataset.name)}: its PostgreSQL URL variable ${connection.postgres.urlEnv} is not set`,
    );
  }
  // Said before pg says `Invalid URL` (or looks up a host named `base`), naming where it is set.
  const problem = postgresUrlProblem(
    url,
    'url' in connection.postgres ? 'its PostgreSQL url' : connection.postgres.urlEnv,
  );
  if (problem) throw new TakeoutError('config_error', `Dataset ${JSON.stringify(dataset.name)}: ${problem}`);
  const { postgresSource } = await import('../sources/postgres.js');
  const target = options.pools ? { pool: await options.pools.get(url) } : { connectionString: url };
  return postgresSource({ ...target, sql, params, ...(dataset.copy ? { copy: true } : {}) });
}
