import type pg from 'pg';
import { uniqueKeys } from '../columns.js';
import type { ResolvedColumn } from '../types.js';
import { skipQuoted } from './named-params.js';
import {
  CANCEL_ANSWER_MS,
  type ConnectOptions,
  openConnection,
  type PgConnection,
} from './postgres-connection.js';
import type { CopyColumnInfo } from './postgres-copy.js';
import { describeQuery } from './postgres-describe.js';
import { abortedError, mapPostgresError } from './postgres-errors.js';
import { type CatalogType, isKnownOid, OID, type PgTypeInfo, typeInfo } from './postgres-types.js';

/**
 * One export's transaction: a connection, `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`
 * (one snapshot for the describe step, the cursor or COPY, and any estimate made in it) and
 * the session settings the value parsers rely on, all `SET LOCAL` so nothing outlives it.
 */
export interface Session {
  conn: PgConnection;
  columns: ResolvedColumn[];
  /** Per result column: pg types object (parsers) and facts the COPY path needs. */
  types: pg.CustomTypesConfig;
  copyInfos: CopyColumnInfo[];
  /** Per result column: its type OID; `catalog` holds the looked-up non-built-in types. */
  oids: number[];
  catalog: ReadonlyMap<number, CatalogType>;
  /**
   * Per bind parameter (`$1` first): the SQL name of the type PostgreSQL deduced for it in the
   * describe step (`numeric`, `integer[]`, `"char"`, `myschema.mytype`), for COPY's literals;
   * undefined where unknown.
   */
  paramTypes: (string | undefined)[];
  /** Set when the connection must not be reused (cancelled, failed, abandoned mid-COPY). */
  broken: boolean;
  ended: boolean;
}

export function beginSql(statementTimeoutMs: number): string {
  return [
    'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
    `SET LOCAL statement_timeout = ${Math.trunc(statementTimeoutMs)}`,
    "SET LOCAL TimeZone = 'UTC'",
    "SET LOCAL DateStyle = 'ISO, YMD'",
    "SET LOCAL IntervalStyle = 'iso_8601'",
    "SET LOCAL bytea_output = 'hex'",
    'SET LOCAL extra_float_digits = 1',
  ].join('; ');
}

/**
 * The query up to its last token, so it can be wrapped (`SELECT * FROM (query) ...`): the
 * blanks, semicolons and comments after it are dropped (`select 1; -- end`).
 */
export function trimQuery(sql: string): string {
  return sql.slice(0, endOfLastToken(sql));
}

/**
 * The index just after the last character of `sql` that is not blank, a `;` or in a comment,
 * PostgreSQL's lexical rules: strings ('...', E'...' with backslash escapes), quoted
 * identifiers, dollar quotes and nested block comments count whole, so `--` inside them is
 * text. (sqlite-estimate.ts has SQLite's version: other quotes, no dollar quotes or nesting.)
 * Anything unterminated counts as a token: the server reports it.
 */
function endOfLastToken(sql: string): number {
  let end = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    if (c === "'" || c === '"') {
      const prev = sql[i - 1] ?? '';
      const escapes =
        c === "'" && (prev === 'e' || prev === 'E') && !/[\w$\u0080-\uffff]/.test(sql[i - 2] ?? '');
      i = end = skipQuoted(sql, i, c, escapes);
    } else if (c === '-' && sql[i + 1] === '-') {
      i += 2; // to the end of the line (CR or LF, as PostgreSQL's lexer)
      while (i < sql.length && sql[i] !== '\n' && sql[i] !== '\r') i++;
    } else if (c === '/' && sql[i + 1] === '*') {
      let depth = 0;
      while (i < sql.length) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          i += 2;
          if (--depth === 0) break;
        } else i++;
      }
      if (depth > 0) return sql.length; // unterminated: the server says so
    } else if (c === '$' && !/[\w$\u0080-\uffff]/.test(sql[i - 1] ?? '')) {
      const tag = /^\$(?:[A-Za-z_\u0080-\uffff][\w\u0080-\uffff]*)?\$/.exec(sql.slice(i, i + 128))?.[0];
      const close = tag === undefined ? -1 : sql.indexOf(tag, i + tag.length);
      i = end = tag === undefined ? i + 1 : close === -1 ? sql.length : close + tag.length;
    } else {
      i++;
      if (c !== ';' && !/\s/.test(c)) end = i;
    }
  }
  return end;
}

const CATALOG_SQL =
  'SELECT oid::int8 AS oid, typtype::text, typcategory::text, typelem::int8, typbasetype::int8, typdelim::text ' +
  'FROM pg_catalog.pg_type WHERE oid = ANY($1::oid[])';

/** Looks up types the built-in tables do not know, following domains and array elements. */
async function lookupTypes(client: pg.ClientBase, oids: number[]): Promise<Map<number, CatalogType>> {
  const catalog = new Map<number, CatalogType>();
  let todo = oids.filter((oid) => !isKnownOid(oid));
  for (let round = 0; round < 4 && todo.length > 0; round++) {
    const result = await client.query<CatalogType>({ text: CATALOG_SQL, values: [todo], types: PARSERS });
    for (const row of result.rows) catalog.set(row.oid, row);
    todo = result.rows
      .flatMap((r) => [r.typbasetype, r.typelem])
      .filter((oid) => oid !== 0 && !isKnownOid(oid) && !catalog.has(oid));
  }
  return catalog;
}

/** Per-query parsers for the built-in types (catalog queries, EXPLAIN). */
export const PARSERS: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number) => typeInfo(oid).parse) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * Resets the statement timeout (fetches are timed by the source from here on: a suspended
 * cursor's statement timer would keep running while the reader works, postgres.ts) and names
 * the parameters' types, in the round trip the reset takes anyway.
 */
const AFTER_DESCRIBE_SQL =
  "SELECT set_config('statement_timeout', '0', true) AS reset, (SELECT json_agg(format_type(t, NULL) ORDER BY n) " +
  'FROM unnest($1::oid[]) WITH ORDINALITY AS p(t, n))::text AS names';

/**
 * Opens the connection and transaction and describes the query (run with `LIMIT 0` inside
 * the snapshot, so the columns are known before the first row and SQL errors surface before
 * any byte of the file), learning the type PostgreSQL gives each parameter on the way.
 * `signal` (the source closed) stops it: the statement in flight, which may wait on a lock
 * for up to the statement timeout, is cancelled and the connection discarded.
 */
export async function openSession(
  connect: ConnectOptions,
  statementTimeoutMs: number,
  query: { text: string; values: unknown[] },
  signal?: AbortSignal,
): Promise<Session> {
  if (signal?.aborted) throw abortedError(signal);
  const conn = await openConnection(connect);
  const { client } = conn;
  const opening = { conn, broken: false, ended: false } as Session;
  let cut: NodeJS.Timeout | undefined;
  // Discarded after a cancel: a late CancelRequest must not reach the connection's next user.
  // A server gone silent never answers the cancel: the socket is cut instead.
  const onAbort = () => {
    opening.broken = true;
    void conn.cancel();
    cut = setTimeout(() => conn.sever(), CANCEL_ANSWER_MS);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  // An abort between statements cancels nothing: stop before the next one.
  const step = async <T>(work: Promise<T>): Promise<T> => {
    const result = await work;
    if (signal?.aborted) throw abortedError(signal);
    return result;
  };
  try {
    if (signal?.aborted) throw abortedError(signal); // while connecting: nothing ran yet
    await step(client.query(beginSql(statementTimeoutMs)));
    const { fields, paramOids } = await step(
      describeQuery(
        client,
        `SELECT * FROM (\n${trimQuery(query.text)}\n) AS takeout_describe LIMIT 0`,
        query.values,
      ),
    );
    const after = await step(
      client.query<{ names: string | null }>({
        text: AFTER_DESCRIBE_SQL,
        values: [paramOids],
        types: PARSERS,
      }),
    );
    const names = JSON.parse(after.rows[0]?.names ?? '[]') as string[];
    // OID 0: no type known; that literal stays untyped.
    const paramTypes = paramOids.map((oid, i) => (oid === 0 ? undefined : names[i]));
    const catalog = await step(
      lookupTypes(
        client,
        fields.map((f) => f.dataTypeID),
      ),
    );
    return { ...describeColumns(fields, catalog), conn, paramTypes, broken: false, ended: false };
  } catch (error) {
    await endSession(opening, false);
    throw signal?.aborted ? abortedError(signal) : mapPostgresError(error);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    clearTimeout(cut);
  }
}

/** Columns, parsers and the COPY paths' facts of the described result fields. */
function describeColumns(
  fields: pg.FieldDef[],
  catalog: Map<number, CatalogType>,
): Pick<Session, 'columns' | 'types' | 'copyInfos' | 'oids' | 'catalog'> {
  const infos = new Map<number, PgTypeInfo>();
  for (const f of fields) infos.set(f.dataTypeID, typeInfo(f.dataTypeID, catalog));
  const keys = uniqueKeys(fields.map((f) => f.name));
  const columns = fields.map(
    (f, index): ResolvedColumn => ({
      key: keys[index] as string,
      header: f.name,
      type: (infos.get(f.dataTypeID) as PgTypeInfo).type,
      index,
    }),
  );
  const parsers = new Map([...infos].map(([oid, info]) => [oid, info.parse]));
  const types: pg.CustomTypesConfig = {
    getTypeParser: ((oid: number) =>
      parsers.get(oid) ?? typeInfo(oid, catalog).parse) as pg.CustomTypesConfig['getTypeParser'],
  };
  const copyInfos = fields.map((f): CopyColumnInfo => {
    let oid = f.dataTypeID;
    for (let row = catalog.get(oid); row?.typtype === 'd'; row = catalog.get(oid)) oid = row.typbasetype;
    const row = catalog.get(oid);
    const type = (infos.get(f.dataTypeID) as PgTypeInfo).type;
    const isArray = type === 'json' && oid !== OID.json && oid !== OID.jsonb;
    return { baseOid: row ? undefined : oid, type, isArray: isArray || row?.typcategory === 'A' };
  });
  const oids = fields.map((f) => f.dataTypeID);
  return { columns, types, copyInfos, oids, catalog };
}

/** Ends the transaction (COMMIT after a complete read, else ROLLBACK) and releases the connection. */
export async function endSession(session: Session, ok: boolean): Promise<void> {
  if (session.ended) return;
  session.ended = true;
  if (!session.broken) {
    try {
      await session.conn.client.query(ok ? 'COMMIT' : 'ROLLBACK');
    } catch {
      session.broken = true;
    }
  }
  await session.conn.release(session.broken);
}
