import Cursor from 'pg-cursor';
import { TakeoutError } from '../errors.js';
import type { Row } from '../types.js';
import { CANCEL_ANSWER_MS } from './postgres-connection.js';
import { abortedError, mapPostgresError } from './postgres-errors.js';
import type { Session } from './postgres-session.js';

/** How long an in-flight fetch may finish on its own after an abort before it is cancelled. */
const ABORT_GRACE_MS = 200;

export interface CursorRead {
  query: { text: string; values: unknown[] };
  batchSize: number;
  /** Time limit of each fetch (0: none). */
  timeoutMs: number;
}

/**
 * Rows of the query through a server-side cursor (`pg-cursor`, text format, values parsed by
 * the session's per-OID parsers), `batchSize` rows per fetch, the next fetch in flight while
 * the current batch is written. For what binary COPY cannot do (postgres-binary-copy.ts).
 * Returns normally only after the last row; the caller ends the session.
 */
export async function* readCursor(
  s: Session,
  { query, batchSize, timeoutMs }: CursorRead,
  signal: AbortSignal | undefined,
): AsyncGenerator<Row[]> {
  signal?.throwIfAborted();
  const cursor = s.conn.client.query(
    new Cursor(query.text, query.values, { rowMode: 'array', types: s.types }),
  ) as Cursor<unknown[]>;
  let pending: Promise<unknown[][]> | undefined;
  let failed = false;
  let complete = false;
  let timedOut = false;
  // A cancelled fetch fails when the server answers; one that never does (the server went
  // silent) would hold the export and its connection for ever: its socket is cut instead.
  const cancelFetch = (p: Promise<unknown[][]>): void => {
    s.broken = true;
    void s.conn.cancel();
    const cut = setTimeout(() => {
      if (pending === p) s.conn.sever();
    }, CANCEL_ANSWER_MS);
    const stop = () => clearTimeout(cut);
    p.then(stop, stop);
  };
  // statement_timeout cannot bound a fetch: PostgreSQL keeps a suspended portal's timer
  // running until the portal completes, so it would count the reader's time. Each fetch
  // is timed here instead and cancelled (CancelRequest) when it takes too long.
  const read = (): Promise<unknown[][]> => {
    const p = cursor.read(batchSize);
    pending = p;
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            if (pending !== p) return;
            timedOut = true;
            cancelFetch(p);
          }, timeoutMs)
        : undefined;
    const settle = () => {
      clearTimeout(timer);
      if (pending === p) pending = undefined;
    };
    p.then(settle, () => {
      failed = true;
      settle();
    });
    return p;
  };
  // An abort cancels a fetch that does not finish soon (a slow query); the connection is
  // then discarded, so the cancel request cannot reach whatever it runs next.
  const stopPending = async (): Promise<void> => {
    const p = pending;
    if (!p) return;
    const settled = await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      new Promise<false>((resolve) => setTimeout(resolve, ABORT_GRACE_MS, false)),
    ]);
    if (!settled && pending === p) cancelFetch(p);
  };
  const onAbort = () => void stopPending();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let next: Promise<unknown[][]> | undefined = read();
    while (next) {
      let rows: unknown[][];
      try {
        rows = await next;
      } catch (error) {
        if (signal?.aborted) throw abortedError(signal);
        if (timedOut) {
          throw new TakeoutError('source_timeout', 'A fetch took longer than the statement timeout', {
            cause: error,
            details: { sqlstate: '57014' },
          });
        }
        throw mapPostgresError(error);
      }
      next = rows.length === batchSize ? read() : undefined; // prefetch the next batch
      if (rows.length > 0) yield rows;
      if (signal?.aborted) throw abortedError(signal);
    }
    complete = true;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (!complete) await stopPending();
    // Unless the fetch was cancelled (the connection is then discarded, not waited on).
    if (pending && !s.broken) await pending.catch(() => {});
    if (!complete && !failed && !s.broken) {
      try {
        await cursor.close();
      } catch {
        s.broken = true;
      }
    }
  }
}
