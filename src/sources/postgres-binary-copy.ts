import type pg from 'pg';
import { TakeoutError } from '../errors.js';
import type { Row } from '../types.js';
import { planBinaryCopy } from './postgres-binary-plan.js';
import { BinaryRowDecoder } from './postgres-binary-rows.js';
import { CopyOut } from './postgres-copy-out.js';
import { mapPostgresError, sqlstateOf } from './postgres-errors.js';
import { type Session, trimQuery } from './postgres-session.js';

export function abortedError(signal: AbortSignal | undefined): TakeoutError {
  const reason = signal?.reason;
  return reason instanceof TakeoutError ? reason : new TakeoutError('aborted', 'The export was aborted');
}

/** Whether rows can be read with COPY on this client: it must speak the protocol in JavaScript (not pg-native). */
export function canCopy(client: pg.ClientBase): boolean {
  const connection = (client as unknown as { connection?: { stream?: { listeners?: unknown } } }).connection;
  return typeof connection?.stream?.listeners === 'function';
}

/**
 * Rows of `query` (parameters inlined as literals: COPY takes no bind parameters) read with
 * `COPY (query) TO STDOUT (FORMAT binary)` in the session's snapshot, in batches of one COPY
 * chunk (about 256 KiB). Each wait for the server is timed like a cursor fetch: when a read
 * waits longer than `timeoutMs` (0: no limit) the COPY is cancelled (`source_timeout`); the
 * reader's own time never counts. Stopping early (abort, a row limit, a reader that goes
 * away) cancels the COPY and marks the connection broken: a connection mid-COPY cannot be
 * reused.
 */
export async function* readBinaryCopy(
  s: Session,
  query: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<Row[]> {
  signal?.throwIfAborted();
  const { client } = s.conn;
  let plan: Awaited<ReturnType<typeof planBinaryCopy>>;
  try {
    plan = await planBinaryCopy(client, trimQuery(query), s.oids, s.catalog);
  } catch (error) {
    throw mapPostgresError(error);
  }
  const decoder = new BinaryRowDecoder(plan.decoders);
  const copy = new CopyOut(plan.statement, { crlf: false });
  client.query(copy as unknown as pg.Submittable);
  let done = false;
  let failedOnServer = false; // the server ended the COPY with an error: the connection is fine
  let timedOut = false;
  const onAbort = () => {
    s.broken = true;
    void s.conn.cancel();
    copy.fail(abortedError(signal));
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const read = async () => {
    if (timeoutMs <= 0) return copy.read();
    const timer = setTimeout(() => {
      timedOut = true;
      s.broken = true;
      void s.conn.cancel();
    }, timeoutMs);
    try {
      return await copy.read();
    } finally {
      clearTimeout(timer);
    }
  };
  try {
    for (let chunk = await read(); chunk; chunk = await read()) {
      const rows = decoder.decode(chunk.bytes);
      if (rows.length > 0) yield rows;
    }
    decoder.finish();
    done = true;
  } catch (error) {
    if (signal?.aborted) throw abortedError(signal);
    failedOnServer = sqlstateOf(error) !== undefined;
    if (timedOut) {
      throw new TakeoutError(
        'source_timeout',
        'A read from the COPY took longer than the statement timeout',
        {
          cause: error,
          details: { sqlstate: '57014' },
        },
      );
    }
    throw mapPostgresError(error);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (!done && !failedOnServer && !s.broken) {
      s.broken = true;
      await s.conn.cancel();
    }
  }
}
