/**
 * Follows a background export to its end: the server-sent events stream first (read with fetch,
 * so the bearer token goes along, which EventSource cannot send), and polling the job with
 * `If-None-Match` when the stream is not available or ends early.
 */
import { isTransient } from './alert.js';
import { ACTIVE_STATUSES, ApiError, type JobDocument, problemOf, request } from './api.js';

/**
 * What the watch reports besides the job's states: a transient problem while the server is
 * unreachable or restarting (the watch keeps trying), then `undefined` once it answers again.
 */
export type TroubleListener = (problem: ApiError | undefined) => void;

/** Longest wait between two tries while the server does not answer. */
const MAX_RETRY_MS = 10_000;

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

/** Reads the events stream; the final job, or undefined when the stream ended or failed first. */
async function fromEvents(
  job: JobDocument,
  onUpdate: (job: JobDocument) => void,
  signal: AbortSignal,
): Promise<JobDocument | undefined> {
  let response: Response;
  try {
    response = await request(job.links.events, { headers: { accept: 'text/event-stream' }, signal });
  } catch (error) {
    if (signal.aborted) throw error;
    return undefined;
  }
  if (!response.ok || !response.body) return undefined;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return undefined;
      buffer += value.replace(/\r\n?/g, '\n');
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
        const data = block
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).replace(/^ /, ''))
          .join('\n');
        if (data === '') continue;
        const current = JSON.parse(data) as JobDocument;
        onUpdate(current);
        if (finished(current)) return current;
      }
    }
  } catch (error) {
    if (signal.aborted) throw error;
    return undefined;
  } finally {
    reader.cancel().catch(() => {});
  }
}

/**
 * Polls the job (304 while nothing changed) as often as its `Retry-After` says. While the
 * server cannot be reached or answers 502/503/504 (a restart, a deploy), it tries again with
 * a growing pause and tells `onTrouble`; any other problem ends the watch.
 */
async function byPolling(
  job: JobDocument,
  onUpdate: (job: JobDocument) => void,
  onTrouble: TroubleListener,
  signal: AbortSignal,
): Promise<JobDocument> {
  let etag: string | null = null;
  let current = job;
  let failures = 0;
  for (;;) {
    let response: Response;
    try {
      response = await request(job.links.self, {
        headers: etag ? { 'if-none-match': etag } : {},
        signal,
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
      current = (await response.json()) as JobDocument;
      onUpdate(current);
      if (finished(current)) return current;
    }
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
  onUpdate(job);
  if (finished(job)) return job;
  return (await fromEvents(job, onUpdate, signal)) ?? byPolling(job, onUpdate, onTrouble, signal);
}
