import type pg from 'pg';
import { TakeoutError } from '../errors.js';
import type { CsvPassthroughRequest } from '../types.js';
import { copyPrefix, copySelect, copyStatement } from './postgres-copy.js';
import { CopyOut } from './postgres-copy-out.js';
import { mapPostgresError, sqlstateOf } from './postgres-errors.js';
import { type Session, trimQuery } from './postgres-session.js';

function abortedError(signal: AbortSignal): TakeoutError {
  const reason = signal.reason;
  return reason instanceof TakeoutError ? reason : new TakeoutError('aborted', 'The export was aborted');
}

/**
 * Runs `COPY (query) TO STDOUT` in the session's snapshot and yields the file's bytes: BOM and
 * header first (with the first data, so a failing COPY fails before any byte), then COPY's
 * chunks with CRLF record ends when asked. Stopping early (abort, a row limit, a reader that
 * goes away) cancels the COPY and marks the connection broken: a connection mid-COPY cannot
 * be reused.
 */
export async function* streamCopy(
  s: Session,
  query: string,
  request: CsvPassthroughRequest,
  timeoutMs: number,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  signal.throwIfAborted();
  const { dialect } = request;
  const { client } = s.conn;
  try {
    // Bound, not interpolated: timestamptz text is rendered in the request's time zone.
    await client.query({
      text: "SELECT set_config('TimeZone', $1, true), set_config('statement_timeout', $2, true)",
      values: [dialect.timezone, String(Math.trunc(timeoutMs))],
    });
  } catch (error) {
    if (sqlstateOf(error) === '22023') {
      throw new TakeoutError(
        'invalid_timezone',
        `PostgreSQL does not know the time zone ${JSON.stringify(dialect.timezone)}`,
        { cause: error },
      );
    }
    throw mapPostgresError(error);
  }
  // Aborted during that round trip: the listener below would never hear it.
  signal.throwIfAborted();
  const select = copySelect(trimQuery(query), s.copyInfos, request.columns, dialect.escapeFormulas);
  const copy = new CopyOut(copyStatement(select, dialect), { crlf: dialect.lineEnding === '\r\n' });
  client.query(copy as unknown as pg.Submittable);
  let prefix: Buffer | undefined = Buffer.from(copyPrefix(request.columns, dialect), 'utf8');
  let done = false;
  let failedOnServer = false; // the server ended the COPY with an error: the connection is fine
  const onAbort = () => {
    s.broken = true;
    void s.conn.cancel();
    copy.fail(abortedError(signal));
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (let chunk = await copy.read(); chunk; chunk = await copy.read()) {
      const bytes: Buffer = prefix ? Buffer.concat([prefix, chunk.bytes]) : chunk.bytes;
      prefix = undefined;
      request.onRows(chunk.rows);
      yield bytes;
    }
    done = true;
    if (prefix && prefix.length > 0) yield prefix; // no rows: the header alone
  } catch (error) {
    if (signal.aborted) throw abortedError(signal);
    failedOnServer = sqlstateOf(error) !== undefined;
    throw mapPostgresError(error);
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (!done && !failedOnServer && !s.broken) {
      s.broken = true;
      await s.conn.cancel();
    }
  }
}
