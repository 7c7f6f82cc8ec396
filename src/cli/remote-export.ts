/**
 * `takeout export --async`: a background export on a running service. Creates the job, shows
 * its progress from the events stream (polling when the stream breaks), then downloads the
 * file through the download route's freshly signed link, checking its size and SHA-256
 * against the job's. Ctrl-C (or SIGTERM, SIGHUP) cancels the job; a second one exits at once.
 * `--attach ID` follows a job that exists instead (and leaves it running on Ctrl-C). A service
 * that is briefly away is waited for (remote-retry.ts); when the command gives up on a job that
 * goes on, it says how to attach to it again.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sanitizeFilename } from '../content-disposition.js';
import { interruptedExit, interruptedText, onStopSignals } from './interrupt.js';
import type { OutTarget } from './output.js';
import { bytesText, type EstimatedProgress, progressBarLine, progressPrinter } from './progress.js';
import { FINISHED, problemOf, RemoteApi, type RemoteJob, RemoteProblem } from './remote-client.js';
import { download } from './remote-download.js';
import { progressLog, progressOf, retryNotes } from './remote-progress.js';
import { DEFAULT_RETRY_FOR_MS } from './remote-retry.js';
import { serverEvents } from './sse.js';
import type { CliIo } from './usage.js';

export interface RemoteExportOptions {
  url: string;
  token: string | undefined;
  /** The export request, as `POST /v1/exports` takes it, or the id of an export to follow. */
  job: { body: Record<string, unknown> } | { attach: string };
  /** How long a request is retried through an outage (`--retry-for`), ms. */
  retryForMs?: number;
  /** Where to write the file (`--out`, checked); default the job's file name, here. */
  out: OutTarget | undefined;
  /** Aborted on Ctrl-C (default: this process's SIGINT, SIGTERM and SIGHUP). */
  interrupt?: AbortSignal;
}

/** Event-stream failures in a row before falling back to polling. */
const STREAM_FAILURES = 3;

/** Follows the job's events to its final state; polls the job when the stream keeps failing. */
async function watch(
  api: RemoteApi,
  job: RemoteJob,
  onJob: (job: RemoteJob) => void,
  signal: AbortSignal,
): Promise<RemoteJob> {
  let current = job;
  let lastEventId: string | undefined;
  for (let failures = 0; failures < STREAM_FAILURES; ) {
    if (FINISHED.includes(current.status)) return current;
    try {
      const response = await api.send(current.links.events, {
        headers: { accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
        signal,
      });
      if (response.status === 401 || response.status === 404) throw await problemOf(response);
      if (response.status === 200 && response.body) {
        for await (const event of serverEvents(response.body)) {
          current = JSON.parse(event.data) as RemoteJob;
          lastEventId = event.id ?? lastEventId;
          failures = 0;
          onJob(current);
          if (FINISHED.includes(current.status)) return current;
        }
      } else {
        await response.body?.cancel();
      }
    } catch (error) {
      const status = error instanceof RemoteProblem ? error.status : undefined;
      if (signal.aborted || status === 401 || status === 404) throw error;
    }
    failures++; // the stream ended before the final state, or could not be opened
    await sleep(1000, undefined, { signal });
  }
  return poll(api, current, onJob, signal);
}

/** Reads the job until it finished, as often as its `Retry-After` says (cheap with `ETag`). */
async function poll(
  api: RemoteApi,
  job: RemoteJob,
  onJob: (job: RemoteJob) => void,
  signal: AbortSignal,
): Promise<RemoteJob> {
  let current = job;
  let etag: string | undefined;
  while (!FINISHED.includes(current.status)) {
    const response = await api.sendRetrying(current.links.self, {
      headers: etag ? { 'if-none-match': etag } : {},
      signal,
    });
    if (response.status === 200) {
      current = (await response.json()) as RemoteJob;
      etag = response.headers.get('etag') ?? undefined;
      onJob(current);
    } else if (response.status !== 304) {
      throw await problemOf(response);
    }
    if (FINISHED.includes(current.status)) break;
    const wait = Number(response.headers.get('retry-after'));
    await sleep(Number.isFinite(wait) && wait > 0 ? Math.min(wait, 5) * 1000 : 1000, undefined, { signal });
  }
  return current;
}

/** Why a finished job has no file, as the error the command exits with. */
function outcomeProblem(job: RemoteJob): RemoteProblem {
  if (job.status === 'failed' && job.error) return new RemoteProblem(job.error.code, job.error.message);
  if (job.status === 'expired') {
    return new RemoteProblem(
      'export_expired',
      `The file of ${job.id} has been deleted (its retention ended, or it was deleted)`,
    );
  }
  return new RemoteProblem(job.status, `The export ${job.id} was ${job.status}`);
}

/**
 * Where the file goes: `--out`, or the job's file name in this directory, sanitised as the
 * server does today (never a path, and short enough to save: a job from an older server may
 * have a name of 180 characters that is 720 bytes).
 */
function targetOf(out: OutTarget | undefined, job: RemoteJob): OutTarget {
  if (out !== undefined) return out;
  const name = sanitizeFilename(basename(job.result?.filename ?? ''), '');
  if (name === '' || name === '.' || name === '..') {
    throw new RemoteProblem('invalid_filename', 'The export has no usable file name; give --out FILE');
  }
  if (existsSync(name))
    throw new RemoteProblem('file_exists', `${name} exists; give --out FILE to replace it`);
  return { kind: 'replace', path: name, given: name, mode: undefined };
}

/** Creates the job; a retry after a lost answer gets the same job (Idempotency-Key). */
async function createJob(
  api: RemoteApi,
  body: Record<string, unknown>,
  idempotencyKey: string,
  signal: AbortSignal,
  retrying = true,
) {
  const init = {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      prefer: 'respond-async',
      'idempotency-key': idempotencyKey,
    },
    body: JSON.stringify(body),
    signal,
  };
  const response = retrying ? await api.sendRetrying('v1/exports', init) : await api.send('v1/exports', init);
  return api.json<RemoteJob>(response, [202, 303]);
}

/** Follows an export that exists (`--attach`): the caller's own, or 404. */
async function attachJob(api: RemoteApi, id: string, signal: AbortSignal): Promise<RemoteJob> {
  const response = await api.sendRetrying(`v1/exports/${encodeURIComponent(id)}`, { signal });
  if (response.status === 404) {
    // The service's own code (export_not_found, as `takeout jobs show` says it); `not_found`
    // when something else answered, such as a proxy without Takeout behind that path.
    const { code } = await problemOf(response);
    const known = code === 'export_not_found' ? code : 'not_found';
    throw new RemoteProblem(known, `No export ${id} of yours at ${api.base.origin}`, 404);
  }
  return api.json<RemoteJob>(response, [200]);
}

/**
 * The error the command gives up with, and, while the job goes on (or its file waits), how to
 * follow it again: a lost connection must not leave a user thinking the export is lost.
 */
function withAttachHint(error: unknown, job: RemoteJob | undefined): unknown {
  if (!(error instanceof RemoteProblem) || !job) return error;
  const kept =
    job.status === 'succeeded'
      ? 'its file is kept'
      : FINISHED.includes(job.status)
        ? undefined
        : 'it goes on';
  if (!kept) return error;
  return new RemoteProblem(
    error.code,
    `${error.message}; ${job.id}: ${kept}: follow it again with takeout export --async --attach ${job.id} (and the same --url, --token)`,
    error.status,
  );
}

export async function remoteExport(options: RemoteExportOptions, io: CliIo): Promise<number> {
  const api = new RemoteApi(options.url, options.token, {
    forMs: options.retryForMs ?? DEFAULT_RETRY_FOR_MS,
    onRetry: retryNotes(io.stderr),
  });
  const stops = options.interrupt ? undefined : onStopSignals();
  const signal = options.interrupt ?? (stops as { signal: AbortSignal }).signal;
  const print = (io.stderr as { isTTY?: boolean }).isTTY
    ? progressPrinter<EstimatedProgress>(io.stderr, progressBarLine)
    : undefined;
  let log: ((job: RemoteJob) => void) | undefined;
  const attached = 'attach' in options.job ? options.job.attach : undefined;
  let job: RemoteJob | undefined;
  const idempotencyKey = randomUUID();
  try {
    job =
      'attach' in options.job
        ? await attachJob(api, options.job.attach, signal)
        : await createJob(api, options.job.body, idempotencyKey, signal);
    io.stderr.write(`${job.id} ${job.status}: ${api.resolve(job.links.self)}\n`);
    if (!print) log = progressLog(io.stderr, job.status);
    const final = await watch(
      api,
      job,
      (current) => {
        job = current;
        if (print) print(progressOf(current));
        else log?.(current);
      },
      signal,
    );
    job = final;
    if (final.status !== 'succeeded' || !final.result) throw outcomeProblem(final);
    const target = targetOf(options.out, final);
    const binary = final.format.toLowerCase() === 'xlsx';
    if (binary && target.kind === 'stdout' && (io.stdout as { isTTY?: boolean }).isTTY) {
      throw new RemoteProblem(
        'invalid_option',
        '--out -: stdout is a terminal and XLSX is binary; give --out FILE',
      );
    }
    await download({ api, job: { ...final, result: final.result }, target, io, signal, binary });
    const { row_count: rows, size_bytes: size, sha256 } = final.result;
    io.stderr.write(
      `${final.id} succeeded: ${rows.toLocaleString('en-US')} rows, ${bytesText(size)}, SHA-256 ${sha256}${target.kind === 'stdout' ? '' : ` -> ${target.given}`}\n`,
    );
    return 0;
  } catch (error) {
    if (!signal.aborted) throw withAttachHint(error, job);
    // Ctrl-C, SIGTERM, SIGHUP: a job this command created and that still runs is canceled
    // (nobody will download it); a finished one, or one it attached to, is kept. Stopped while
    // the creation was under way (or being retried), the service may have made the job: asked
    // once more with the same key, it says which (or makes it now), and that one is canceled.
    if (!job && 'body' in options.job) {
      job = await createJob(api, options.job.body, idempotencyKey, AbortSignal.timeout(10_000), false).catch(
        () => undefined,
      );
    }
    if (job && !FINISHED.includes(job.status) && attached === undefined) {
      const canceled = await api
        .send(job.links.cancel, { method: 'POST', signal: AbortSignal.timeout(10_000) })
        .catch(() => undefined);
      await canceled?.body?.cancel();
      io.stderr.write(
        canceled?.ok
          ? `\ntakeout: canceled: ${job.id} was canceled (${interruptedText(signal)})\n`
          : `\ntakeout: ${interruptedText(signal)}; ${job.id} could not be canceled, it may still run\n`,
      );
    } else {
      io.stderr.write(`\ntakeout: ${interruptedText(signal)}${job ? ` (${job.id} is kept)` : ''}\n`);
    }
    return interruptedExit(signal);
  } finally {
    stops?.dispose();
  }
}
