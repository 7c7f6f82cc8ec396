import type pg from 'pg';
import { TakeoutError } from '../errors.js';
import type { Row } from '../types.js';
import { type BinaryPlan, planBinaryCopy } from './postgres-binary-plan.js';
import { BinaryRowDecoder } from './postgres-binary-rows.js';
import { CANCEL_ANSWER_MS } from './postgres-connection.js';
import { CopyOut } from './postgres-copy-out.js';
import { abortedError, mapPostgresError, sqlstateOf } from './postgres-errors.js';
import { type Session, trimQuery } from './postgres-session.js';

/**
 * Rows per batch handed to the writer. Small, as rowsSource's batches (DEFAULT_BATCH_SIZE):
 * a batch stays alive until it is written, and rows that outlive a young-generation GC are
 * copied by it.
 */
const BATCH_ROWS = 128;

/** Whether rows can be read with COPY on this client: it must speak the protocol in JavaScript (not pg-native). */
export function canCopy(client: pg.ClientBase): boolean {
  const connection = (client as unknown as { connection?: { stream?: { listeners?: unknown } } }).connection;
  return typeof connection?.stream?.listeners === 'function';
}

/** The plan of `query`'s binary COPY (postgres-binary-plan.ts), errors mapped. */
export async function planCopy(s: Session, query: string): Promise<BinaryPlan> {
  try {
    return await planBinaryCopy(s.conn.client, trimQuery(query), s.oids, s.catalog);
  } catch (error) {
    throw mapPostgresError(error);
  }
}

/**
 * Rows of `query` (parameters inlined as literals: COPY takes no bind parameters) read with
 * `COPY (query) TO STDOUT (FORMAT binary)` in the session's snapshot, in batches of BATCH_ROWS
 * decoded from COPY chunks of about 256 KiB.
 */
export async function* readBinaryCopy(
  s: Session,
  query: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<Row[]> {
  signal?.throwIfAborted();
  const plan = await planCopy(s, query);
  const decoder = new BinaryRowDecoder(plan.decoders);
  for await (const parts of binaryCopyChunks(s, plan.statement, timeoutMs, signal)) {
    for (const bytes of parts) {
      decoder.push(bytes);
      for (let rows = decoder.take(BATCH_ROWS); rows.length > 0; rows = decoder.take(BATCH_ROWS)) yield rows;
    }
  }
  decoder.finish();
}

/**
 * The bytes of the binary COPY `statement` (planCopy), in order, as lists of pieces of about
 * 256 KiB in all (CopyOut.readParts: not joined, the decoders walk them one by one). Each wait
 * for the server is timed like a cursor fetch: when a read waits longer than `timeoutMs`
 * (0: no limit) the COPY is cancelled (`source_timeout`); the reader's own time never counts.
 * Stopping early (abort, a row limit, a reader that goes away) cancels the COPY and marks the
 * connection broken: a connection mid-COPY cannot be reused.
 */
export async function* binaryCopyChunks(
  s: Session,
  statement: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<Buffer[]> {
  signal?.throwIfAborted();
  const { client } = s.conn;
  const copy = new CopyOut(statement, { crlf: false });
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
    if (timeoutMs <= 0) return copy.readParts();
    let cut: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      s.broken = true;
      void s.conn.cancel();
      // A server gone silent never answers the cancel: the read fails here instead.
      cut = setTimeout(() => copy.fail(new Error('no answer to the cancel')), CANCEL_ANSWER_MS);
    }, timeoutMs);
    try {
      return await copy.readParts();
    } finally {
      clearTimeout(timer);
      clearTimeout(cut);
    }
  };
  try {
    for (let parts = await read(); parts; parts = await read()) yield parts;
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
