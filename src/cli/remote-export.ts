/**
 * `takeout export --async`: a background export on a running service. Creates the job, shows
 * its progress from the events stream (polling when the stream breaks), then downloads the
 * file through the download route's freshly signed link, checking its size and SHA-256
 * against the job's. Ctrl-C (or SIGTERM, SIGHUP) cancels the job; a second one exits at once.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { interruptedExit, interruptedText, onStopSignals } from './interrupt.js';
import { type OutTarget, writeOut } from './output.js';
import { bytesText, type EstimatedProgress, progressBarLine, progressPrinter } from './progress.js';
import { FINISHED, problemOf, RemoteApi, type RemoteJob, RemoteProblem } from './remote-client.js';
import { serverEvents } from './sse.js';
import type { CliIo } from './usage.js';

export interface RemoteExportOptions {
  url: string;
  token: string | undefined;
  /** The export request, as `POST /v1/exports` takes it. */
  body: Record<string, unknown>;
  /** Where to write the file (`--out`, checked); default the job's file name, here. */
  out: OutTarget | undefined;
  /** Aborted on Ctrl-C (default: this process's SIGINT, SIGTERM and SIGHUP). */
  interrupt?: AbortSignal;
}

/** Event-stream failures in a row before falling back to polling. */
const STREAM_FAILURES = 3;

function progressOf(job: RemoteJob): EstimatedProgress {
  const started = job.started_at ? Date.parse(job.started_at) : Date.now();
  const ended = job.finished_at ? Date.parse(job.finished_at) : Date.now();
  return {
    rows: job.progress.rows_written,
    bytes: job.progress.bytes_written,
    elapsedMs: Math.max(0, ended - started),
    done: FINISHED.includes(job.status),
    ...(job.progress.rows_estimated !== undefined ? { estimated: job.progress.rows_estimated } : {}),
  };
}

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
    const response = await api.send(current.links.self, {
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
    return new RemoteProblem('export_expired', `The file of ${job.id} was deleted after its retention`);
  }
  return new RemoteProblem(job.status, `The export ${job.id} was ${job.status}`);
}

/** Where the file goes: `--out`, or the job's file name (never a path) in this directory. */
function targetOf(out: OutTarget | undefined, job: RemoteJob): OutTarget {
  if (out !== undefined) return out;
  const name = basename(job.result?.filename ?? '');
  if (name === '' || name === '.' || name === '..') {
    throw new RemoteProblem('invalid_filename', 'The export has no usable file name; give --out FILE');
  }
  if (existsSync(name))
    throw new RemoteProblem('file_exists', `${name} exists; give --out FILE to replace it`);
  return { kind: 'replace', path: name, given: name, mode: undefined };
}

/** Downloads the job's file through a freshly signed link; checks its size and SHA-256. */
async function download(
  api: RemoteApi,
  job: RemoteJob,
  target: OutTarget,
  io: CliIo,
  signal: AbortSignal,
  binary: boolean,
) {
  const result = job.result;
  if (!result) throw outcomeProblem(job);
  const answer = await api.send(job.links.download, { signal });
  const location = answer.headers.get('location');
  if (answer.status !== 303 || !location) throw await problemOf(answer);
  await answer.body?.cancel();
  // The signed link is the grant: the token is not sent with it (it may point at S3).
  const file = await fetch(new URL(location, api.resolve(job.links.download)), { signal });
  if (!file.ok || !file.body) throw await problemOf(file);
  const hash = createHash('sha256');
  let size = 0;
  const body = Readable.fromWeb(file.body as import('node:stream/web').ReadableStream<Uint8Array>);
  async function* checked(): AsyncGenerator<Uint8Array> {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
      yield chunk;
    }
  }
  // A file is renamed into place only once its size and SHA-256 are the job's.
  await writeOut(target, { stdout: io.stdout, binary }, async (sink) => {
    await sink(checked(), { signal });
    const sha256 = hash.digest('hex');
    if (size !== result.size_bytes || sha256 !== result.sha256) {
      throw new RemoteProblem(
        'checksum_mismatch',
        `The download (${size} bytes, SHA-256 ${sha256}) is not the export's file (${result.size_bytes} bytes, SHA-256 ${result.sha256})`,
      );
    }
  });
}

/** Creates the job; a retry after a lost answer gets the same job (Idempotency-Key). */
async function createJob(api: RemoteApi, body: Record<string, unknown>, signal: AbortSignal) {
  const response = await api.sendRetrying('v1/exports', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      prefer: 'respond-async',
      'idempotency-key': randomUUID(),
    },
    body: JSON.stringify(body),
    signal,
  });
  return api.json<RemoteJob>(response, [202, 303]);
}

export async function remoteExport(options: RemoteExportOptions, io: CliIo): Promise<number> {
  const api = new RemoteApi(options.url, options.token);
  const stops = options.interrupt ? undefined : onStopSignals();
  const signal = options.interrupt ?? (stops as { signal: AbortSignal }).signal;
  const print = progressPrinter<EstimatedProgress>(io.stderr, progressBarLine);
  let job: RemoteJob | undefined;
  try {
    job = await createJob(api, options.body, signal);
    io.stderr.write(`${job.id} ${job.status}: ${api.resolve(job.links.self)}\n`);
    const final = await watch(
      api,
      job,
      (current) => {
        job = current;
        print(progressOf(current));
      },
      signal,
    );
    job = final;
    if (final.status !== 'succeeded' || !final.result) throw outcomeProblem(final);
    const target = targetOf(options.out, final);
    const binary = String(options.body.format).toLowerCase() === 'xlsx';
    await download(api, final, target, io, signal, binary);
    const { row_count: rows, size_bytes: size, sha256 } = final.result;
    io.stderr.write(
      `${final.id} succeeded: ${rows.toLocaleString('en-US')} rows, ${bytesText(size)}, SHA-256 ${sha256}${target.kind === 'stdout' ? '' : ` -> ${target.given}`}\n`,
    );
    return 0;
  } catch (error) {
    if (!signal.aborted) throw error;
    // Ctrl-C, SIGTERM, SIGHUP: a job still running is canceled (nobody will download it); a
    // finished one is kept.
    if (job && !FINISHED.includes(job.status)) {
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
