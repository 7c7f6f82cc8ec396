import type pg from 'pg';
import { TakeoutError } from '../errors.js';
import type { CsvPassthroughRequest } from '../types.js';
import { copyPrefix, copySelect, copyStatement } from './postgres-copy.js';
import { CopyOut } from './postgres-copy-out.js';
import { checkCopyZone, copyZone } from './postgres-copy-time.js';
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
  // The query runs in UTC, as the describe step (the session's TimeZone): only the text of
  // instants is made in the request's zone (postgres-copy-time.ts).
  const zone = copyZone(dialect.timezone);
  try {
    await client.query({
      text: "SELECT set_config('statement_timeout', $1, true)",
      values: [String(Math.trunc(timeoutMs))],
    });
  } catch (error) {
    throw mapPostgresError(error);
  }
  await checkCopyZone(client, zone);
  // Aborted during those round trips: the listener below would never hear it.
  signal.throwIfAborted();
  const select = copySelect(trimQuery(query), s.copyInfos, request.columns, dialect.escapeFormulas, zone);
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
