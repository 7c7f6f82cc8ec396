import type pg from 'pg';
import { TakeoutError } from '../errors.js';
import type { CsvPassthroughRequest, ResolvedColumn, Row, Source, XlsxPassthroughRequest } from '../types.js';
import { compileNamedParams } from './named-params.js';
import { integerOption, knownOptions, queryOption } from './options.js';
import { canCopy, readBinaryCopy } from './postgres-binary-copy.js';
import { streamBinaryCsv } from './postgres-binary-csv.js';
import { streamBinaryXlsx } from './postgres-binary-xlsx.js';
import { openConnection } from './postgres-connection.js';
import { copyCanWrite } from './postgres-copy.js';
import { streamCopy } from './postgres-copy-stream.js';
import { readCursor } from './postgres-cursor.js';
import { estimateRows } from './postgres-estimate.js';
import { paramLiteral, paramText } from './postgres-params.js';
import { endSession, openSession, type Session, trimQuery } from './postgres-session.js';

export interface PostgresSourceOptions {
  /** `postgres://user:pass@host:port/db?...`: one client per export, ended when it is done. */
  connectionString?: string;
  /** Or a pool the caller owns: a client is borrowed per export and returned (or discarded). */
  pool?: pg.Pool;
  /** The query. `:name` references are bound from `params` (never pasted into the SQL). */
  sql: string;
  params?: Record<string, unknown>;
  /**
   * How `batches()` reads rows: `copy` (default), `COPY (query) TO STDOUT (FORMAT binary)`
   * decoded in Node, or `cursor`, a server-side cursor in text format. Both give the same
   * values; see docs/postgres.md.
   */
  reader?: 'copy' | 'cursor';
  /** Rows fetched from the server-side cursor at a time (cursor reader). Default 5000. */
  batchSize?: number;
  /**
   * Time limit of the describe step (`statement_timeout`) and of each wait for rows (a cursor
   * fetch, a read from the binary COPY; timed by Takeout, cancelled with a CancelRequest); the
   * reader's own time never counts. Default 60 000 ms.
   */
  statementTimeoutMs?: number;
  /** `statement_timeout` for the whole COPY (fast path), including time the reader takes. Default 600 000 ms. */
  copyTimeoutMs?: number;
  /** Opt in to the CSV fast path (COPY) where it applies; see docs/postgres.md. Default false. */
  copy?: boolean;
  /** `plan`: EXPLAIN's row estimate (count as fallback); `count`: a time-capped count(*) (plan as fallback). */
  estimate?: 'plan' | 'count';
  /** Time cap of the estimate's statements. Default 2000 ms. */
  estimateTimeoutMs?: number;
  /** Connection timeout of clients made from `connectionString`. Default 10 000 ms. */
  connectTimeoutMs?: number;
  /** `application_name` of clients made from `connectionString` (a URL parameter wins). Default `takeout`. */
  applicationName?: string;
}

const SOURCE = 'postgresSource';

export type PostgresSource = Source &
  Required<Pick<Source, 'rowShape' | 'estimate' | 'csvPassthrough' | 'xlsxPassthrough' | 'close'>>;

/**
 * Rows of a PostgreSQL query, read with binary COPY (postgres-binary-copy.ts) or through a
 * server-side cursor (postgres-cursor.ts) in batches inside one read-only REPEATABLE READ
 * transaction (one snapshot), with types from the result's type OIDs (postgres-types.ts).
 * A source serves one export: columns() opens the transaction, batches() or
 * csvPassthrough() or xlsxPassthrough() reads it once, close() ends it and returns the connection.
 */
const POSTGRES_SOURCE_OPTIONS: readonly (keyof PostgresSourceOptions)[] = [
  'connectionString',
  'pool',
  'sql',
  'params',
  'reader',
  'batchSize',
  'statementTimeoutMs',
  'copyTimeoutMs',
  'copy',
  'estimate',
  'estimateTimeoutMs',
  'connectTimeoutMs',
  'applicationName',
];

export function postgresSource(options: PostgresSourceOptions): PostgresSource {
  if ((options.connectionString === undefined) === (options.pool === undefined)) {
    throw new TakeoutError('config_error', 'postgresSource needs exactly one of connectionString or pool');
  }
  queryOption(SOURCE, options.sql);
  knownOptions(SOURCE, options, POSTGRES_SOURCE_OPTIONS);
  if (options.reader !== undefined && options.reader !== 'copy' && options.reader !== 'cursor') {
    throw new TakeoutError('config_error', "postgresSource: reader must be 'copy' or 'cursor'");
  }
  const batchSize = integerOption(SOURCE, options.batchSize, 'batchSize', 5000);
  const statementTimeoutMs = integerOption(
    SOURCE,
    options.statementTimeoutMs,
    'statementTimeoutMs',
    60_000,
    0,
  );
  const copyTimeoutMs = integerOption(SOURCE, options.copyTimeoutMs, 'copyTimeoutMs', 600_000, 0);
  const estimateTimeoutMs = integerOption(SOURCE, options.estimateTimeoutMs, 'estimateTimeoutMs', 2000);
  const connect = {
    connectionString: options.connectionString,
    pool: options.pool,
    connectTimeoutMs: integerOption(SOURCE, options.connectTimeoutMs, 'connectTimeoutMs', 10_000),
    applicationName: options.applicationName ?? 'takeout',
  };
  const params = options.params ?? {};
  // Without what follows the last token (`select 1; -- end`): every path wraps the query.
  const sql = trimQuery(options.sql);
  const compiled = compileNamedParams(sql, params);
  const values = compiled.values.map((v, i) => paramText(v, compiled.names[i] as string));

  let opened: Promise<Session> | undefined;
  let session: Session | undefined;
  let reader: AsyncGenerator<unknown> | undefined;
  // interrupt() or close() before the session is open stops its opening (a describe waiting
  // on a lock): cancelled (CancelRequest, connection discarded), not waited out.
  const closing = new AbortController();
  const interrupt = (): void => {
    if (!session) closing.abort();
  };

  const open = (): Promise<Session> => {
    opened ??= openSession(connect, statementTimeoutMs, { text: compiled.text, values }, closing.signal).then(
      (s) => {
        session = s;
        return s;
      },
    );
    return opened;
  };

  /** Starts the one reading of this source (`read` makes its generator). */
  const claim = <T extends AsyncGenerator<unknown>>(read: () => T): T => {
    if (reader) throw new TakeoutError('internal', 'A PostgreSQL source can be read only once');
    const gen = read();
    reader = gen;
    return gen;
  };

  // COPY takes no bind parameters: values go in as quoted literals of the types the describe
  // step's bound parameters got (postgres-params.ts), so COPY runs the query the cursor runs.
  const inlinedText = (s: Session): string =>
    compileNamedParams(sql, params, {
      placeholder: (i, name) => paramLiteral(params[name], name, s.paramTypes[i]),
    }).text;

  async function* readBatches(signal: AbortSignal | undefined): AsyncGenerator<Row[]> {
    const s = await open();
    let complete = false;
    try {
      if (options.reader !== 'cursor' && canCopy(s.conn.client)) {
        yield* readBinaryCopy(s, inlinedText(s), statementTimeoutMs, signal);
      } else {
        const query = { text: compiled.text, values };
        yield* readCursor(s, { query, batchSize, timeoutMs: statementTimeoutMs }, signal);
      }
      complete = true;
    } finally {
      await endSession(s, complete);
    }
  }

  async function* readCopy(request: CsvPassthroughRequest, signal: AbortSignal): AsyncGenerator<Uint8Array> {
    const s = await open();
    let complete = false;
    try {
      yield* streamCopy(s, inlinedText(s), request, copyTimeoutMs, signal);
      complete = true;
    } finally {
      await endSession(s, complete);
    }
  }

  /** A file the source writes from its binary COPY (postgres-binary-csv.ts, postgres-binary-xlsx.ts). */
  async function* readBinaryFile<R>(
    write: (
      s: Session,
      query: string,
      request: R,
      timeoutMs: number,
      signal: AbortSignal,
    ) => AsyncGenerator<Uint8Array>,
    request: R,
    signal: AbortSignal,
  ): AsyncGenerator<Uint8Array> {
    const s = await open();
    let complete = false;
    try {
      yield* write(s, inlinedText(s), request, statementTimeoutMs, signal);
      complete = true;
    } finally {
      await endSession(s, complete);
    }
  }

  /** Whether the default reader may read with binary COPY here. */
  const binaryCopy = (): boolean =>
    options.reader !== 'cursor' && session !== undefined && canCopy(session.conn.client);

  return {
    async columns(): Promise<ResolvedColumn[]> {
      return (await open()).columns.map((c) => ({ ...c }));
    },
    async rowShape() {
      return 'array';
    },
    async estimate(): Promise<number | undefined> {
      const query = { text: compiled.text, values };
      const mode = options.estimate ?? 'plan';
      // Inside the export's own transaction when it is open and idle, else on a short-lived connection.
      if (session && !session.ended && !reader) {
        return estimateRows(session.conn.client, query, mode, estimateTimeoutMs, true);
      }
      const conn = await openConnection(connect);
      let broken = false;
      try {
        return await estimateRows(conn.client, query, mode, estimateTimeoutMs, false);
      } catch (error) {
        broken = true;
        throw error;
      } finally {
        await conn.release(broken);
      }
    },
    batches(signal?: AbortSignal): AsyncIterable<Row[]> {
      return claim(() => readBatches(signal));
    },
    csvPassthrough(
      request: CsvPassthroughRequest,
      signal: AbortSignal,
    ): AsyncIterable<Uint8Array> | undefined {
      // Text COPY writes a one-column NULL as a blank line, which readers skip (the writers
      // write `""`): one column goes the binary way.
      if (options.copy === true && copyCanWrite(request.dialect) && request.columns.length > 1)
        return claim(() => readCopy(request, signal));
      if (binaryCopy()) return claim(() => readBinaryFile(streamBinaryCsv, request, signal));
      return undefined;
    },
    xlsxPassthrough(
      request: XlsxPassthroughRequest,
      signal: AbortSignal,
    ): AsyncIterable<Uint8Array> | undefined {
      return binaryCopy() ? claim(() => readBinaryFile(streamBinaryXlsx, request, signal)) : undefined;
    },
    interrupt,
    async close(): Promise<void> {
      interrupt();
      if (reader) await reader.return(undefined).catch(() => {});
      const s = session ?? (await opened?.catch(() => undefined));
      if (s) await endSession(s, false);
    },
  };
}
