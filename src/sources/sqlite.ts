import type Database from 'better-sqlite3';
import { uniqueKeys } from '../columns.js';
import { TakeoutError, throwIfAborted } from '../errors.js';
import type { ResolvedColumn, Row, Source } from '../types.js';
import { integerOption, knownOptions, queryOption } from './options.js';
import { acquireConnection, type HeldConnection } from './sqlite-connections.js';
import { queryError } from './sqlite-errors.js';
import { countOnWorker, countSql } from './sqlite-estimate.js';
import { bindable, refuseUnusedParams } from './sqlite-params.js';
import { type Convert, columnTypeOfDeclared, converterOf, narrowBigint } from './sqlite-values.js';

export { columnTypeOfDeclared, parseSqliteDatetime } from './sqlite-values.js';

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
   * `estimate()` counts beyond the first batch on a worker thread (never on the event loop)
   * and gives up after this long, answering "unknown". Default 2000 ms.
   */
  estimateTimeoutMs?: number;
}

const SOURCE = 'sqliteSource';
const SQLITE_SOURCE_OPTIONS: readonly (keyof SqliteSourceOptions)[] = [
  'database',
  'sql',
  'params',
  'batchSize',
  'estimateCap',
  'estimateTimeoutMs',
];

/** Text and blob bytes (UTF-16 units for text) past which a batch ends early. */
export const BATCH_BYTES = 8 * 1024 * 1024;

/** What a prepared statement's columns resolve to: described once per statement. */
interface Described {
  columns: ResolvedColumn[];
  /** Per column: SQLite declared no type (an expression), so its values keep their own kind. */
  undeclared: boolean[];
}

const described = new WeakMap<Database.Statement, Described>();

function describe(stmt: Database.Statement): Described {
  let known = described.get(stmt);
  if (!known) {
    const columns = stmt.columns();
    const keys = uniqueKeys(columns.map((c) => c.name));
    known = {
      columns: columns.map((c, i) => ({
        key: keys[i]!,
        header: c.name,
        type: columnTypeOfDeclared(c.type) ?? 'string',
      })),
      undeclared: columns.map((c) => !c.type),
    };
    described.set(stmt, known);
  }
  return known;
}

/**
 * Rows from a SQLite query, read-only, in batches. Integers are read exactly (as bigint,
 * narrowed to number when safe) and values are converted by the declared column types.
 * A database named by its path is read through a kept connection (sqlite-connections.ts).
 */
export function sqliteSource(options: SqliteSourceOptions): Source {
  const { database } = options;
  const isDatabase = typeof (database as Partial<Database.Database> | undefined)?.prepare === 'function';
  if (!isDatabase && (typeof database !== 'string' || database === '')) {
    throw new TakeoutError(
      'config_error',
      `${SOURCE} needs database: a file path or an open better-sqlite3 Database`,
    );
  }
  queryOption(SOURCE, options.sql);
  knownOptions(SOURCE, options, SQLITE_SOURCE_OPTIONS);
  const batchSize = integerOption(SOURCE, options.batchSize, 'batchSize', 1000);
  const estimateCap = integerOption(
    SOURCE,
    options.estimateCap,
    'estimateCap',
    1_000_000,
    1,
    Number.MAX_SAFE_INTEGER,
  );
  const estimateTimeoutMs = integerOption(SOURCE, options.estimateTimeoutMs, 'estimateTimeoutMs', 2000);
  const path = typeof database === 'string' ? database : undefined;
  let held: HeldConnection | undefined;
  let db: Database.Database | undefined;
  let statement: Database.Statement | undefined;
  let iterator: IterableIterator<unknown[]> | undefined;
  let converters: (Convert | undefined)[] | undefined;
  /** Rows `estimate()` read ahead (at most a batch and one): `batches()` hands them out first. */
  let ahead: Row[] | undefined;
  /** The last read() stopped at BATCH_BYTES rather than at its row count. */
  let cutByBytes = false;
  let exhausted = false;

  /** A statement on this source's connection: prepared once per kept connection. */
  function prepareOn(sql: string): Database.Statement {
    return held ? held.prepare(sql) : db!.prepare(sql);
  }

  function prepare(): Database.Statement {
    if (statement) return statement;
    try {
      if (!db) {
        if (path !== undefined) {
          held = acquireConnection(path);
          db = held.db;
        } else db = options.database as Database.Database;
      }
      statement = prepareOn(options.sql);
    } catch (error) {
      held?.release();
      held = undefined;
      db = undefined;
      throw queryError(error);
    }
    if (!statement.reader) throw new TakeoutError('source_query_error', 'The query does not return rows');
    refuseUnusedParams(db, options.sql, bindable(options.params));
    statement.safeIntegers(true).raw(true);
    return statement;
  }

  /** Ends the running query, if any: its statement and connection are free again. */
  function stop(): void {
    const running = iterator;
    iterator = undefined;
    running?.return?.();
  }

  /**
   * Up to `limit` more rows of the query, converted; `exhausted` once it has no more. Fewer
   * once their text and blobs pass BATCH_BYTES: a batch of rows with megabyte cells would
   * otherwise hold a gigabyte (the batch, the one read ahead, the one being written).
   */
  function read(limit: number): Row[] {
    const rows: Row[] = [];
    let bytes = 0;
    if (exhausted) return rows;
    const stmt = prepare();
    if (!converters) {
      // An expression's integers (`count(*)`, `a * b`) stay numbers, its text stays text: the
      // writers take each value by its kind. Integers are read as bigint, so narrow them.
      const { columns, undeclared } = describe(stmt);
      converters = columns.map((c, i) => (undeclared[i] ? narrowBigint : converterOf(c.type)));
    }
    const convert = converters;
    try {
      iterator ??= stmt.iterate(bindable(options.params)) as IterableIterator<unknown[]>;
      while (rows.length < limit && bytes < BATCH_BYTES) {
        const next = iterator.next();
        if (next.done) {
          iterator = undefined;
          exhausted = true;
          break;
        }
        const row = next.value;
        for (let i = 0; i < row.length; i++) {
          const value = row[i];
          if (typeof value === 'string') bytes += value.length;
          else if (value instanceof Uint8Array) bytes += value.byteLength;
          const to = convert[i];
          if (to && value !== null) row[i] = to(value);
        }
        rows.push(row);
      }
    } catch (error) {
      stop();
      throw error instanceof TakeoutError ? error : queryError(error);
    }
    cutByBytes = bytes >= BATCH_BYTES;
    return rows;
  }

  return {
    estimateCounts: true, // the first batch read ahead, or count(*) up to the cap
    async rowShape() {
      return 'array';
    },
    async columns() {
      return describe(prepare()).columns;
    },
    async estimate() {
      const cap = estimateCap;
      prepare();
      // The first batch (and one row more) is read here, on this thread, where the export
      // reads it anyway: most exports end within it, and then their count is known without
      // a second query. Beyond it a file is counted by a worker on its own connection (never
      // on the event loop); only an in-memory database, which no other connection can see,
      // is counted here.
      const probe = Math.min(cap, batchSize);
      try {
        ahead = read(probe + 1);
      } catch {
        // The export itself runs the query again and reports what fails.
        ahead = undefined;
        exhausted = false;
        return undefined;
      }
      // Past the cap already; a read cut short by BATCH_BYTES says nothing of what follows.
      if (exhausted || ahead.length > cap) return ahead.length;
      const count = countSql(options.sql, cap);
      const params = bindable(options.params);
      if (!db!.memory) return countOnWorker(db!.name, count, params, estimateTimeoutMs);
      try {
        return Number(prepareOn(count).pluck().get(params));
      } catch {
        return undefined;
      }
    },
    async *batches(signal?: AbortSignal): AsyncGenerator<Row[]> {
      // Rows read ahead come first, in batches of the usual size.
      let carried = ahead ?? [];
      ahead = undefined;
      try {
        while (true) {
          throwIfAborted(signal);
          // Rows read ahead go out as they are (topped up only when few and small: a batch cut
          // short by BATCH_BYTES must not be doubled).
          const rows = carried.length > 0 ? carried : read(batchSize);
          carried = rows.length > batchSize ? rows.splice(batchSize) : [];
          if (rows.length < batchSize && !cutByBytes)
            for (const row of read(batchSize - rows.length)) rows.push(row);
          if (rows.length > 0) yield rows;
          if (exhausted && carried.length === 0) return;
          // Let other requests run between batches: better-sqlite3 reads synchronously.
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      } finally {
        stop();
      }
    },
    async close() {
      // A kept connection must go back with no statement running on it.
      stop();
      ahead = undefined;
      held?.release();
      held = undefined;
    },
  };
}
