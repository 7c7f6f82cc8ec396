import { normalizeColumns } from '../columns.js';
import { TakeoutError } from '../errors.js';
import { namedParams } from '../sources/named-params.js';
import type { Column, ColumnSpec, Source } from '../types.js';
import {
  checkParam,
  checkShape,
  DeclarationError,
  declaredName,
  otherSqlitePlaceholders,
} from './declaration.js';
import type { ParamSpec, ParamValue } from './params.js';

/** Who is asking. Scope parameters are bound from it, never from the request. */
export interface Principal {
  id: string;
  tenant?: string;
  [attribute: string]: unknown;
}

/** Where a dataset's SQL runs. The PostgreSQL URL is read from the environment, never stored in config. */
export type DatasetConnection = { sqlite: string } | { postgres: { urlEnv: string } | { url: string } };

type Path = (string | number)[];

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

/** Code may spell an absent member `undefined`; JSON cannot. Both are treated alike. */
function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (typeof value !== 'object' || value === null) return value;
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, member]) => member !== undefined)
      .map(([key, member]) => [key, withoutUndefined(member)]),
  );
}

/** Exactly one of `members` is given in `object`, else why not. */
function oneOf(object: object, members: readonly string[]): string | undefined {
  const given = members.filter((member) => Object.hasOwn(object, member));
  if (given.length === 1) return undefined;
  return `must give ${members.join(' or ')}${given.length > 1 ? ', not both' : ''}`;
}

/** The `:name` parameters of the SQL; other placeholder forms are refused. */
function sqlParams(definition: DatasetDefinition, fail: (path: Path, problem: string) => Error): string[] {
  const sql = definition.sql as string;
  let used: string[];
  try {
    used = namedParams(sql, {
      sqlite: definition.connection !== undefined && 'sqlite' in definition.connection,
    });
  } catch (error) {
    if (!(error instanceof TakeoutError)) throw error;
    throw fail(['sql'], `uses positional ${error.details?.param}: name each parameter (:name)`);
  }
  if (definition.connection && 'sqlite' in definition.connection) {
    // better-sqlite3 also binds @name, $name and ?; the check below would not see them.
    const [other] = otherSqlitePlaceholders(sql);
    if (other?.startsWith('?')) throw fail(['sql'], `uses positional ${other}: name each parameter (:name)`);
    if (other) throw fail(['sql'], `uses ${other}: write parameters as :${other.slice(1)}`);
  }
  return used;
}

/**
 * Checks a dataset definition once, at start-up, so mistakes surface before the first request:
 * its shape and member types (unknown members refused), its connection, its parameters' bounds,
 * enums and defaults, and that the SQL and the declared parameters agree.
 */
export function defineDataset(definition: DatasetDefinition): Dataset {
  const name = declaredName(definition);
  const fail = (path: Path, problem: string) => new DeclarationError(name, path, problem);
  const declared = withoutUndefined(definition) as DatasetDefinition;
  checkShape(declared, name);
  if (name === undefined) {
    throw fail(
      ['name'],
      'must be lowercase letters, digits, "_" or "-", starting with a letter (at most 64)',
    );
  }
  for (const member of ['source', 'visibleTo'] as const) {
    if (member in declared && typeof declared[member] !== 'function')
      throw fail([member], 'must be a function');
  }
  const { connection } = declared;
  if (declared.source && (connection || declared.sql)) {
    throw fail([], 'must give either source, or connection and sql, not both');
  }
  if (!declared.source && !connection) throw fail(['connection'], 'is required (or, in code, source)');
  if (!declared.source && !declared.sql) throw fail(['sql'], 'is required with a connection');
  if (connection) {
    const kind = oneOf(connection, ['sqlite', 'postgres']);
    if (kind) throw fail(['connection'], kind);
    const url = 'postgres' in connection ? oneOf(connection.postgres, ['urlEnv', 'url']) : undefined;
    if (url) throw fail(['connection', 'postgres'], url);
  }
  if (declared.copy && !(connection && 'postgres' in connection)) {
    throw fail(['copy'], 'applies to PostgreSQL connections only');
  }
  const params = declared.params ?? {};
  for (const [param, spec] of Object.entries(params)) checkParam(name, param, spec);
  const scope = declared.scope ?? {};
  for (const param of Object.keys(scope)) {
    if (Object.hasOwn(params, param))
      throw fail(['scope', param], 'is also a request parameter: give it once');
  }
  if (declared.sql !== undefined) {
    // Every declared and scoped parameter must appear in the SQL and vice versa: a typo in
    // either would otherwise surface only when the first user exports.
    const used = new Set(sqlParams(declared, fail));
    for (const param of used) {
      if (!Object.hasOwn(params, param) && !Object.hasOwn(scope, param))
        throw fail(['sql'], `uses :${param}, which is neither a param nor scoped`);
    }
    for (const param of Object.keys(params))
      if (!used.has(param)) throw fail(['params', param], 'is not used by the SQL');
    for (const param of Object.keys(scope))
      if (!used.has(param)) throw fail(['scope', param], 'is not used by the SQL');
  }
  const { columns, ...rest } = declared;
  const dataset: Dataset = { ...rest, params, scope };
  if (columns) {
    const keys = columns.map((column) => (typeof column === 'string' ? column : column.key));
    keys.forEach((key, i) => {
      if (keys.indexOf(key) !== i)
        throw fail(['columns', i], `repeats the key of columns[${keys.indexOf(key)}]`);
    });
    dataset.columns = normalizeColumns(columns);
  }
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
