import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { FINISHED_STATUSES, type JobRecord } from '../../jobs/types.js';
import { visibleStatus } from '../../jobs/view.js';
import { whenAborted } from '../../settle.js';
import { clientGone } from './client-gone.js';
import { jobDocument } from './document.js';

export interface JobEventsOptions {
  /** The job as the route found it (the owner check already passed). */
  first: JobRecord;
  /** The job now; undefined once it was deleted. */
  next: () => Promise<JobRecord | undefined>;
  prefix: string;
  /** `Last-Event-ID` of a reconnecting client: a state it already has is not sent again. */
  lastEventId?: string;
  /** How often the record is read; progress events come at most this often. */
  intervalMs?: number;
  /** A comment line this often keeps proxies from closing a quiet stream. */
  heartbeatMs?: number;
  /** Aborted when the server closes: the stream ends, and the client reconnects elsewhere. */
  shutdown?: AbortSignal;
  /**
   * When the caller's credentials end (epoch ms; a JWT's `exp`): the stream ends then, and the
   * client reconnects with fresh ones (`Last-Event-ID` keeps its place).
   */
  until?: number | undefined;
}

/**
 * Identifies a state of the job as its owner sees it (a file past its retention is
 * `expired` before the sweeper marks it): the same state always has the same id. A job
 * reaches each final state once, and its record may still change there (the sweeper marks a
 * shown `expired`): a final state's id is its name alone, or a client that has it would be
 * sent it again.
 */
function eventId(job: JobRecord, status: JobRecord['status']): string {
  return FINISHED_STATUSES.includes(status) ? `final-${status}` : `${job.updatedAt.getTime()}-${status}`;
}

/**
 * `GET /v1/exports/{id}/events`: server-sent events. A `progress` event whenever the job's
 * state changes (at most about once a second), then one event named after the final state
 * (`succeeded`, `failed`, `canceled`, `expired`), and the stream ends. Every event carries
 * the job document and an id; a client reconnecting with `Last-Event-ID` gets only what
 * changed since. A client that stops reading is sent nothing more until it catches up
 * (only the latest state matters).
 */
export async function jobEvents(
  request: FastifyRequest,
  reply: FastifyReply,
  options: JobEventsOptions,
): Promise<void> {
  const intervalMs = options.intervalMs ?? 1000;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  reply.hijack();
  const res = reply.raw;
  const headers = {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
    'x-content-type-options': 'nosniff',
  };
  const { first } = options;
  const firstStatus = visibleStatus(first);
  if (FINISHED_STATUSES.includes(firstStatus) && options.lastEventId === eventId(first, firstStatus)) {
    // The client has the final state: 204 tells an EventSource to stop reconnecting.
    res.writeHead(204, { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }).end();
    return;
  }
  if (request.method === 'HEAD') {
    res.writeHead(200, headers).end(); // no body to stream: Node sends nothing before end()
    return;
  }
  const left = clientGone(request, reply);
  // The server's close waits for every open connection: a stream must not hold it up. The
  // shutdown signal lives as long as the process, so each stream is one entry of whenAborted's,
  // removed when it ends (AbortSignal.any would leave one behind per stream on Node 20).
  const ended = new AbortController();
  const stopWatching = options.shutdown ? whenAborted(options.shutdown, () => ended.abort()) : () => {};
  if (left.aborted) ended.abort();
  else left.addEventListener('abort', () => ended.abort(), { once: true });
  const gone = ended.signal;
  res.writeHead(200, headers);
  res.write('retry: 2000\n\n');
  let lastSent = options.lastEventId;
  let lastData: string | undefined;
  let lastWrite = Date.now();
  let job: JobRecord | undefined = first;
  try {
    while (job && !gone.aborted) {
      const status = visibleStatus(job);
      const finished = FINISHED_STATUSES.includes(status);
      const id = eventId(job, status);
      if (id !== lastSent && (finished || !res.writableNeedDrain)) {
        const data = JSON.stringify(jobDocument(job, options.prefix));
        // A lease renewal changes the record, not the document: nothing new to tell.
        if (finished || data !== lastData) {
          res.write(`id: ${id}\nevent: ${finished ? status : 'progress'}\ndata: ${data}\n\n`);
          lastSent = id;
          lastData = data;
          lastWrite = Date.now();
        }
      }
      if (finished) break;
      if (options.until !== undefined && Date.now() >= options.until) {
        // A comment, which every client skips: each event's data is a job document (api.md).
        res.write(': the token has expired: reconnect with a fresh one\n\n');
        break;
      }
      await sleep(intervalMs, undefined, { signal: gone });
      if (Date.now() - lastWrite >= heartbeatMs && !res.writableNeedDrain) {
        res.write(': keep-alive\n\n');
        lastWrite = Date.now();
      }
      job = await options.next();
    }
  } catch (error) {
    // A client that left or a closing server ends the loop; a store failure ends the stream and
    // the client reconnects.
    if (!gone.aborted) request.log.warn({ code: (error as { code?: string }).code }, 'job events stopped');
  } finally {
    stopWatching();
    res.end();
  }
}
