import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Row counts of SQLite queries on worker threads. better-sqlite3 runs a statement to its end
 * in one synchronous call, so counting up to the sync limit on the main thread (hundreds of
 * milliseconds on a large table, seconds with a selective filter) would stall every other
 * request of the process. A worker opens its own read-only connection to the file, counts,
 * and is kept for the next count; one that overruns its time is terminated and replaced.
 */

/** CommonJS run by each worker (eval): one read-only connection per count, opened and closed. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
parentPort.on('message', ({ path, sql, params }) => {
  let db;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    parentPort.postMessage({ count: Number(db.prepare(sql).pluck().get(params)) });
  } catch (error) {
    parentPort.postMessage({ error: String((error && error.code) || 'SQLITE_ERROR') });
  } finally {
    if (db && db.open) db.close();
  }
});
`;

/** Idle workers are kept this long for the next count, then end. */
const IDLE_MS = 30_000;
/** At most this many idle workers are kept. */
const MAX_IDLE = 2;

type Reply = { count?: number; error?: string } | undefined;

/** A worker and the count it is running; its listeners stay for its whole life. */
interface Counter {
  worker: Worker;
  /** Receives the reply of the running count (undefined: the worker failed or ended). */
  reply: ((reply: Reply) => void) | undefined;
  idleTimer: NodeJS.Timeout | undefined;
}

const idle: Counter[] = [];
let modulePath: string | undefined;

function forget(counter: Counter): void {
  const at = idle.indexOf(counter);
  if (at >= 0) idle.splice(at, 1);
  clearTimeout(counter.idleTimer);
}

function spawn(): Counter {
  modulePath ??= createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module: modulePath } });
  const counter: Counter = { worker, reply: undefined, idleTimer: undefined };
  const end = () => {
    forget(counter);
    counter.reply?.(undefined);
  };
  worker.on('message', (message: Reply) => counter.reply?.(message));
  worker.on('error', end);
  worker.on('exit', end);
  return counter;
}

function acquire(): Counter {
  const counter = idle.pop();
  if (!counter) return spawn();
  clearTimeout(counter.idleTimer);
  counter.worker.ref();
  return counter;
}

function release(counter: Counter): void {
  counter.reply = undefined;
  if (idle.length >= MAX_IDLE) {
    void counter.worker.terminate().catch(() => {});
    return;
  }
  counter.worker.unref(); // an idle worker never keeps the process alive
  counter.idleTimer = setTimeout(() => {
    forget(counter);
    void counter.worker.terminate().catch(() => {});
  }, IDLE_MS);
  counter.idleTimer.unref();
  idle.push(counter);
}

/**
 * Runs `sql` (one row, one integer column: a count) against the database file at `path` on a
 * worker thread. Undefined when it fails or takes longer than `timeoutMs`: an estimate is
 * advice, and an unknown one is allowed.
 */
export function countOnWorker(
  path: string,
  sql: string,
  params: Record<string, unknown>,
  timeoutMs: number,
): Promise<number | undefined> {
  return new Promise((resolve) => {
    let counter: Counter;
    try {
      counter = acquire();
    } catch {
      resolve(undefined);
      return;
    }
    const timer = setTimeout(() => {
      counter.reply = undefined;
      // Terminating a worker inside SQLite takes effect when the statement returns; the
      // count is abandoned either way and the main thread never waits for it.
      void counter.worker.terminate().catch(() => {});
      resolve(undefined);
    }, timeoutMs);
    counter.reply = (reply) => {
      clearTimeout(timer);
      if (reply === undefined) {
        resolve(undefined);
        return;
      }
      release(counter);
      resolve(typeof reply.count === 'number' ? reply.count : undefined);
    };
    counter.worker.postMessage({ path, sql, params });
  });
}
