import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * Row counts of SQLite queries on worker threads. better-sqlite3 runs a statement to its end
 * in one synchronous call, so counting up to the sync limit on the main thread (hundreds of
 * milliseconds on a large table, seconds with a selective filter) would stall every other
 * request of the process. A worker opens its own read-only connection to the file, counts,
 * and is kept for the next count; one that overruns its time is terminated and replaced. The
 * workers are a bounded pool: counts beyond it wait for a free one.
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
/**
 * At most this many workers live at once; more counts wait for one. Starting a worker thread
 * costs tens of milliseconds of CPU (an isolate, better-sqlite3 loaded again), so a busy server
 * that started one per count (and ended those past a small idle pool) spent most of its time
 * starting threads: a pool that never churns keeps the sync path cheap.
 */
const MAX_WORKERS = Math.max(2, availableParallelism());

type Reply = { count?: number; error?: string } | undefined;

/** A worker and the count it is running; its listeners stay for its whole life. */
interface Counter {
  worker: Worker;
  /** Receives the reply of the running count (undefined: the worker failed or ended). */
  reply: ((reply: Reply) => void) | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  ended: boolean;
}

const idle: Counter[] = [];
/** Counts waiting for a worker, first come first served. */
const waiting: ((counter: Counter) => void)[] = [];
let live = 0;
let modulePath: string | undefined;

function forget(counter: Counter): void {
  const at = idle.indexOf(counter);
  if (at >= 0) idle.splice(at, 1);
  clearTimeout(counter.idleTimer);
}

function spawn(): Counter {
  modulePath ??= createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module: modulePath } });
  const counter: Counter = { worker, reply: undefined, idleTimer: undefined, ended: false };
  live++;
  const end = () => {
    if (counter.ended) return;
    counter.ended = true;
    live--;
    forget(counter);
    counter.reply?.(undefined);
    // Its place is free: the next waiting count gets a new worker.
    const next = waiting.shift();
    if (next) startFor(next);
  };
  worker.on('message', (message: Reply) => counter.reply?.(message));
  worker.on('error', end);
  worker.on('exit', end);
  return counter;
}

function startFor(run: (counter: Counter) => void): void {
  try {
    run(spawn());
  } catch {
    // Cannot start a thread now: the waiting count times out and its estimate stays unknown.
    waiting.unshift(run);
  }
}

/** An idle worker, a new one while under the cap, or undefined: then wait for one. */
function acquire(): Counter | undefined {
  const counter = idle.pop();
  if (counter) {
    clearTimeout(counter.idleTimer);
    counter.worker.ref();
    return counter;
  }
  return live < MAX_WORKERS ? spawn() : undefined;
}

function release(counter: Counter): void {
  counter.reply = undefined;
  const next = waiting.shift();
  if (next) {
    next(counter);
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
 * The statement counting `sql`'s rows, up to `cap + 1`. The query loses what may follow its
 * last token (semicolons, comments, space: a `;` cannot stand inside parentheses, though
 * better-sqlite3 runs the query itself with it) and stands on lines of its own.
 */
export function countSql(sql: string, cap: number): string {
  const query = sql.slice(0, endOfLastToken(sql));
  return `SELECT count(*) FROM (SELECT 1 FROM (\n${query}\n) LIMIT ${cap + 1})`;
}

/** Where SQLite's quotes close: strings, identifiers in "", ``, and []. */
const CLOSING: Record<string, string> = { "'": "'", '"': '"', '`': '`', '[': ']' };

/**
 * The index just after the last character of `sql` that is not a space, a `;` or part of a
 * comment. Quoted text counts whole, so a `--` inside a string is not a comment.
 */
function endOfLastToken(sql: string): number {
  let end = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    const closing = CLOSING[c];
    if (closing !== undefined) {
      // A doubled quote stays inside ('it''s'; not in [...]); unterminated runs to the end.
      let j = i + 1;
      for (;;) {
        j = sql.indexOf(closing, j);
        if (j === -1 || closing === ']' || sql[j + 1] !== closing) break;
        j += 2;
      }
      i = end = j === -1 ? sql.length : j + 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      const newline = sql.indexOf('\n', i);
      i = newline === -1 ? sql.length : newline + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      i = close === -1 ? sql.length : close + 2;
    } else {
      i++;
      if (c !== ';' && !/\s/.test(c)) end = i;
    }
  }
  return end;
}

/**
 * Runs `sql` (one row, one integer column: a count) against the database file at `path` on a
 * worker thread. Undefined when it fails or takes longer than `timeoutMs` (waiting for a
 * worker included): an estimate is advice, and an unknown one is allowed.
 */
export function countOnWorker(
  path: string,
  sql: string,
  params: Record<string, unknown>,
  timeoutMs: number,
): Promise<number | undefined> {
  return new Promise((resolve) => {
    let running: Counter | undefined;
    const run = (counter: Counter) => {
      running = counter;
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
    };
    const timer = setTimeout(() => {
      if (running) {
        running.reply = undefined;
        // Terminating a worker inside SQLite takes effect when the statement returns; the
        // count is abandoned either way and the main thread never waits for it.
        void running.worker.terminate().catch(() => {});
      } else {
        const at = waiting.indexOf(run);
        if (at >= 0) waiting.splice(at, 1);
      }
      resolve(undefined);
    }, timeoutMs);
    let counter: Counter | undefined;
    try {
      counter = acquire();
    } catch {
      clearTimeout(timer);
      resolve(undefined);
      return;
    }
    if (counter) run(counter);
    else waiting.push(run);
  });
}
