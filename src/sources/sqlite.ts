import Database from 'better-sqlite3';
import { uniqueKeys } from '../columns.js';
import { TakeoutError, throwIfAborted } from '../errors.js';
import type { ColumnType, ResolvedColumn, Row, Source } from '../types.js';
import { countOnWorker } from './sqlite-estimate.js';

export interface SqliteSourceOptions {
  /** Path of the database file (opened read-only) or an open better-sqlite3 Database. */
  database: string | Database.Database;
  /** The query; named parameters as `:name`, `@name` or `$name`. */
  sql: string;
  params?: Record<string, unknown>;
  /** Rows per batch. Default 1000. */
  batchSize?: number;
  /** `estimate()` counts at most this many rows and answers cap + 1 beyond (it never scans all). */
  estimateCap?: number;
  /**
   * `estimate()` counts on a worker thread (never on the event loop) and gives up after this
   * long, answering "unknown". Default 2000 ms.
   */
  estimateTimeoutMs?: number;
}

/** Declared SQLite column type -> Takeout column type, by SQLite's own affinity rules plus names. */
export function columnTypeOfDeclared(declared: string | null): ColumnType | undefined {
  if (!declared) return undefined;
  const t = declared.toUpperCase();
  if (t.includes('BOOL')) return 'boolean';
  if (t.includes('DATETIME') || t.includes('TIMESTAMP')) return 'datetime';
  if (t === 'DATE') return 'date';
  if (t.includes('JSON')) return 'json';
  if (t.includes('INT')) return 'integer';
  if (t.includes('DECIMAL') || t.includes('NUMERIC')) return 'decimal';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'number';
  return 'string';
}

const SQLITE_DATETIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?$/;

/** SQLite keeps datetimes as text; without a zone they are UTC (what `datetime('now')` writes). */
export function parseSqliteDatetime(text: string): Date | string {
  const m = SQLITE_DATETIME.exec(text);
  if (!m) return text;
  const d = new Date(`${m[1]}T${m[2]}${m[3] ?? 'Z'}`);
  return Number.isNaN(d.getTime()) ? text : d;
}

type Convert = (v: unknown) => unknown;

/** Integers are read as bigint (exact); those a number holds exactly become numbers. */
function narrowBigint(v: unknown): unknown {
  return typeof v === 'bigint' && v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

function converterOf(type: ColumnType): Convert | undefined {
  switch (type) {
    case 'integer':
    case 'number':
    case 'decimal':
      return narrowBigint;
    case 'boolean':
      return (v) => (typeof v === 'bigint' ? v !== 0n : typeof v === 'number' ? v !== 0 : v);
    case 'datetime':
      return (v) => (typeof v === 'string' ? parseSqliteDatetime(v) : typeof v === 'bigint' ? Number(v) : v);
    case 'json':
      return (v) => {
        if (typeof v !== 'string') return v;
        try {
          return JSON.parse(v);
        } catch {
          return v;
        }
      };
    default:
      return (v) => (typeof v === 'bigint' ? v.toString() : v);
  }
}

/** better-sqlite3 binds numbers, strings, bigints, buffers and null; booleans become 1/0. */
function bindable(params: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) out[k] = typeof v === 'boolean' ? (v ? 1 : 0) : v;
  return out;
}

// Failures of the database itself (missing, locked, corrupt) may pass; a bad query will not.
const UNAVAILABLE = /^SQLITE_(CANTOPEN|BUSY|LOCKED|IOERR|CORRUPT|NOTADB|FULL|NOMEM|PROTOCOL)/;

/**
 * Maps a SQLite failure to a code. The message names only SQLite's result code; the original
 * (which may quote the SQL or name tables) stays in `cause` for logs and the CLI.
 */
function queryError(error: unknown): TakeoutError {
  const code = (error as { code?: unknown })?.code;
  const sqliteCode = typeof code === 'string' ? code : 'SQLITE_ERROR';
  if (UNAVAILABLE.test(sqliteCode)) {
    return new TakeoutError('source_error', `The database could not be read (${sqliteCode})`, {
      cause: error,
    });
  }
  return new TakeoutError('source_query_error', `The query failed (${sqliteCode})`, { cause: error });
}

/**
 * Rows from a SQLite query, read-only, in batches. Integers are read exactly (as bigint,
 * narrowed to number when safe) and values are converted by the declared column types.
 */
export function sqliteSource(options: SqliteSourceOptions): Source {
  const owned = typeof options.database === 'string';
  let db: Database.Database | undefined;
  let statement: Database.Statement | undefined;
  let columns: ResolvedColumn[] | undefined;
  /** Per column: SQLite declared no type (an expression), so its values keep their own kind. */
  let undeclared: boolean[] = [];
  const batchSize = options.batchSize ?? 1000;

  function prepare(): Database.Statement {
    if (statement) return statement;
    try {
      db ??= owned
        ? new Database(options.database as string, { readonly: true, fileMustExist: true })
        : (options.database as Database.Database);
      statement = db.prepare(options.sql);
    } catch (error) {
      if (owned && db?.open) db.close();
      db = undefined;
      throw queryError(error);
    }
    if (!statement.reader) throw new TakeoutError('source_query_error', 'The query does not return rows');
    statement.safeIntegers(true).raw(true);
    return statement;
  }

  return {
    async rowShape() {
      return 'array';
    },
    async columns() {
      if (columns) return columns;
      const stmt = prepare();
      const described = stmt.columns();
      const keys = uniqueKeys(described.map((c) => c.name));
      undeclared = described.map((c) => !c.type);
      columns = described.map((c, i) => ({
        key: keys[i]!,
        header: c.name,
        type: columnTypeOfDeclared(c.type) ?? 'string',
      }));
      return columns;
    },
    async estimate() {
      const cap = options.estimateCap ?? 1_000_000;
      prepare();
      const sql = `SELECT count(*) FROM (SELECT 1 FROM (${options.sql}) LIMIT ${cap + 1})`;
      const params = bindable(options.params);
      // A file is counted by a worker on its own connection; only an in-memory database,
      // which no other connection can see, is counted here.
      if (!db!.memory) return countOnWorker(db!.name, sql, params, options.estimateTimeoutMs ?? 2000);
      try {
        return Number(db!.prepare(sql).pluck().get(params));
      } catch {
        return undefined;
      }
    },
    async *batches(signal?: AbortSignal): AsyncGenerator<Row[]> {
      const stmt = prepare();
      // An expression's integers (`count(*)`, `a * b`) stay numbers, its text stays text: the
      // writers take each value by its kind. Integers are read as bigint, so narrow them.
      const converters = (await this.columns()).map((c, i) =>
        undeclared[i] ? narrowBigint : converterOf(c.type),
      );
      let iterator: IterableIterator<unknown[]>;
      try {
        iterator = stmt.iterate(bindable(options.params)) as IterableIterator<unknown[]>;
      } catch (error) {
        throw queryError(error);
      }
      try {
        while (true) {
          throwIfAborted(signal);
          const batch: Row[] = [];
          let next = iterator.next();
          while (!next.done) {
            const row = next.value;
            for (let i = 0; i < row.length; i++) {
              const convert = converters[i];
              if (convert && row[i] !== null) row[i] = convert(row[i]);
            }
            batch.push(row);
            if (batch.length >= batchSize) break;
            next = iterator.next();
          }
          if (batch.length > 0) yield batch;
          if (next.done) return;
          // Let other requests run between batches: better-sqlite3 reads synchronously.
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      } catch (error) {
        throw error instanceof TakeoutError ? error : queryError(error);
      } finally {
        iterator.return?.();
      }
    },
    async close() {
      if (owned && db?.open) db.close();
    },
  };
}
