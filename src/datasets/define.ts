import { normalizeColumns } from '../columns.js';
import { TakeoutError } from '../errors.js';
import { namedParams } from '../sources/named-params.js';
import type { Column, ColumnSpec, Source } from '../types.js';
import type { ParamSpec, ParamValue } from './params.js';

/** Who is asking. Scope parameters are bound from it, never from the request. */
export interface Principal {
  id: string;
  tenant?: string;
  [attribute: string]: unknown;
}

/** Where a dataset's SQL runs. The PostgreSQL URL is read from the environment, never stored in config. */
export type DatasetConnection = { sqlite: string } | { postgres: { urlEnv: string } | { url: string } };

export interface SourceRequest {
  params: Record<string, ParamValue>;
  principal: Principal;
  /** Rows beyond this need not be counted by `estimate()`. */
  estimateCap: number;
}

export interface DatasetDefinition {
  name: string;
  title?: string;
  description?: string;
  /** Run `sql` on this connection ... */
  connection?: DatasetConnection;
  sql?: string;
  /** ... or build any Source in code. */
  source?: (request: SourceRequest) => Source | Promise<Source>;
  params?: Record<string, ParamSpec>;
  columns?: readonly ColumnSpec[];
  /**
   * SQL parameters bound from the principal: `{ owner: 'id', tenant: 'tenant' }` binds
   * `:owner` to principal.id. A request can never set or override them.
   */
  scope?: Record<string, string>;
  /** PostgreSQL only: stream CSV/TSV through `COPY` when it applies (docs/postgres.md). Default false. */
  copy?: boolean;
  /** Who may see and export the dataset; default everyone authenticated. */
  visibleTo?: (principal: Principal) => boolean;
}

export interface Dataset extends Omit<DatasetDefinition, 'columns'> {
  params: Record<string, ParamSpec>;
  scope: Record<string, string>;
  columns?: Column[];
}

const NAME = /^[a-z][a-z0-9_-]{0,63}$/;
const PARAM_TYPES = new Set(['string', 'integer', 'number', 'boolean', 'date', 'datetime']);

/** Checks a dataset definition once, at start-up, so mistakes surface before the first request. */
export function defineDataset(definition: DatasetDefinition): Dataset {
  const fail = (message: string) =>
    new TakeoutError('config_error', `Dataset ${JSON.stringify(definition.name)}: ${message}`);
  if (typeof definition.name !== 'string' || !NAME.test(definition.name)) {
    throw fail('name must be lowercase letters, digits, "_" or "-", starting with a letter');
  }
  if (!definition.source === !(definition.connection && definition.sql)) {
    throw fail('give either `source`, or `connection` and `sql`');
  }
  const params = definition.params ?? {};
  for (const [name, spec] of Object.entries(params)) {
    if (!PARAM_TYPES.has(spec?.type)) throw fail(`parameter ${name} has an unknown type`);
  }
  const scope = definition.scope ?? {};
  for (const name of Object.keys(scope)) {
    if (Object.hasOwn(params, name))
      throw fail(`parameter ${name} cannot be both a request parameter and scoped`);
  }
  if (definition.sql) {
    // Every declared and scoped parameter must appear in the SQL and vice versa: a typo in
    // either would otherwise surface only when the first user exports.
    const used = new Set(namedParams(definition.sql));
    const declared = new Set([...Object.keys(params), ...Object.keys(scope)]);
    for (const name of used)
      if (!declared.has(name)) throw fail(`the SQL uses :${name}, which is neither a param nor scoped`);
    for (const name of declared) if (!used.has(name)) throw fail(`parameter ${name} is not used by the SQL`);
  }
  const { columns, ...rest } = definition;
  const dataset: Dataset = { ...rest, params, scope };
  if (columns) dataset.columns = normalizeColumns(columns);
  return dataset;
}

/** The scoped parameter values for a principal; a missing attribute denies access. */
export function scopeValues(dataset: Dataset, principal: Principal): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const [param, attribute] of Object.entries(dataset.scope)) {
    const value = principal[attribute];
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new TakeoutError('unknown_dataset', `Unknown dataset ${JSON.stringify(dataset.name)}`);
    }
    out[param] = value;
  }
  return out;
}
