/**
 * Follows a background export to its end: the server-sent events stream first (read with fetch,
 * so the bearer token goes along, which EventSource cannot send), reconnected with
 * `Last-Event-ID` when it breaks or goes quiet, and polling the job with `If-None-Match` while
 * the stream is not available, trying the stream again every so often.
 */
import { isTransient } from './alert.js';
import {
  ACTIVE_STATUSES,
  ANSWER_TIMEOUT_MS,
  ApiError,
  answerSignal,
  type JobDocument,
  problemOf,
  request,
} from './api.js';
import { serverEvents } from './event-stream.js';

/**
 * What the watch reports besides the job's states: a transient problem while the server is
 * unreachable or restarting (the watch keeps trying), then `undefined` once it answers again.
 */
export type TroubleListener = (problem: ApiError | undefined) => void;

/** Longest wait between two tries while the server does not answer. */
const MAX_RETRY_MS = 10_000;
/** The server sends a keep-alive comment every 15 s: twice that without a byte is a dead stream. */
export const STREAM_IDLE_MS = 35_000;
/** How long the page polls before it tries the stream again (a proxy or a restart may have passed). */
export const STREAM_RETRY_MS = 30_000;
/** Pause before reconnecting a stream that broke, as the server's `retry:` asks. */
const RECONNECT_MS = 2000;
/** Streams in a row that broke without bringing an event: then polling takes over for a while. */
const MAX_BROKEN = 2;

const finished = (job: JobDocument) => !ACTIVE_STATUSES.includes(job.status);

const wait = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

/** How a stream ended: with the final state, after it was open (early end, stall), or never opened. */
type StreamEnd =
  | { kind: 'final'; job: JobDocument }
  | { kind: 'broken'; events: number }
  | { kind: 'unavailable' };

interface StreamState {
  lastEventId?: string;
}

/** Reads the events stream once, resuming after `state.lastEventId`. */
async function fromEvents(
  job: JobDocument,
  state: StreamState,
  onUpdate: (job: JobDocument) => void,
  onOpen: () => void,
  signal: AbortSignal,
): Promise<StreamEnd> {
  // Its own controller: a stalled stream's connection is closed here, not left to time out.
  const connection = new AbortController();
  const abort = () => connection.abort(signal.reason);
  signal.addEventListener('abort', abort, { once: true });
  // A server that hangs before it answers: the stream is unavailable, and polling says why.
  const unanswered = setTimeout(() => connection.abort(), ANSWER_TIMEOUT_MS);
  let opened = false;
  let events = 0;
  try {
    const response = await request(job.links.events, {
      headers: {
        accept: 'text/event-stream',
        ...(state.lastEventId ? { 'last-event-id': state.lastEventId } : {}),
      },
      signal: connection.signal,
    });
    clearTimeout(unanswered);
    // 204 (the last event was the final one), a problem, a proxy's page: polling says what it is.
    if (response.status !== 200 || !response.body) {
      await response.body?.cancel().catch(() => {});
      return { kind: 'unavailable' };
    }
    opened = true;
    onOpen();
    for await (const event of serverEvents(response.body, STREAM_IDLE_MS)) {
      if (event.id !== undefined) state.lastEventId = event.id;
      if (event.data === '') continue;
      const current = JSON.parse(event.data) as JobDocument;
      events++;
      onUpdate(current);
      if (finished(current)) return { kind: 'final', job: current };
    }
    return { kind: 'broken', events };
  } catch (error) {
    if (signal.aborted) throw error;
    return opened ? { kind: 'broken', events } : { kind: 'unavailable' };
  } finally {
    clearTimeout(unanswered);
    signal.removeEventListener('abort', abort);
    connection.abort();
  }
}

/**
 * Polls the job (304 while nothing changed) as often as its `Retry-After` says, for about
 * `forMs`: the final job, or undefined when the time is up. While the server cannot be reached
 * or answers 429 or 5xx (a restart, a deploy, a failure of a moment), it tries again with a
 * growing pause and tells `onTrouble`, past `forMs` too; any other problem ends the watch.
 */
async function byPolling(
  job: JobDocument,
  onUpdate: (job: JobDocument) => void,
  onTrouble: TroubleListener,
  signal: AbortSignal,
  forMs: number,
): Promise<JobDocument | undefined> {
  const until = Date.now() + forMs;
  let etag: string | null = null;
  let failures = 0;
  for (;;) {
    let response: Response;
    try {
      response = await request(job.links.self, {
        headers: etag ? { 'if-none-match': etag } : {},
        signal: answerSignal(signal),
      });
      if (!response.ok && response.status !== 304) throw await problemOf(response);
    } catch (error) {
      if (!(error instanceof ApiError) || !isTransient(error.problem)) throw error;
      onTrouble(error);
      failures++;
      const retryAfter = error.problem.retryAfter ? error.problem.retryAfter * 1000 : 0;
      await wait(Math.max(retryAfter, Math.min(MAX_RETRY_MS, 1000 * 2 ** (failures - 1))), signal);
      continue;
    }
    if (failures > 0) onTrouble(undefined);
    failures = 0;
    if (response.status !== 304) {
      etag = response.headers.get('etag');
      const current = (await response.json()) as JobDocument;
      onUpdate(current);
      if (finished(current)) return current;
    }
    if (Date.now() >= until) return undefined;
    const seconds = Number(response.headers.get('retry-after'));
    await wait(Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 5) * 1000 : 1000, signal);
  }
}

/** Calls `onUpdate` with each new state of the job; resolves with its final state. */
export async function watchJob(
  job: JobDocument,
  onUpdate: (job: JobDocument) => void,
  onTrouble: TroubleListener,
  signal: AbortSignal,
): Promise<JobDocument> {
  let current = job;
  const update = (next: JobDocument) => {
    current = next;
    onUpdate(next);
  };
  let troubled = false;
  const trouble: TroubleListener = (problem) => {
    troubled = problem !== undefined;
    onTrouble(problem);
  };
  // A stream that opens means the server answers again.
  const opened = () => {
    if (troubled) trouble(undefined);
  };
  update(job);
  const state: StreamState = {};
  let broken = 0;
  for (;;) {
    if (finished(current)) return current;
    const end = await fromEvents(current, state, update, opened, signal);
    if (end.kind === 'final') return end.job;
    if (end.kind === 'broken') {
      broken = end.events > 0 ? 1 : broken + 1;
      if (broken < MAX_BROKEN) {
        await wait(RECONNECT_MS, signal);
        continue;
      }
    }
    broken = 0;
    const final = await byPolling(current, update, trouble, signal, STREAM_RETRY_MS);
    if (final) return final;
  }
}
