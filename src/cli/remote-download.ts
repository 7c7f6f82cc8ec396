/**
 * The download of a finished job's file for `takeout export --async`: through a freshly signed
 * link from the download route, its size and SHA-256 checked against the job's before the file
 * takes its name. A link that cannot be fetched or a connection that breaks off is tried again
 * (a fresh link each time, the file written anew) within the retry policy; a download to stdout
 * or a device only while nothing was written yet.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { setTimeout as sleep } from 'node:timers/promises';
import { type OutTarget, writeOut } from './output.js';
import { bytesText } from './progress.js';
import { problemOf, type RemoteApi, type RemoteJob, RemoteProblem, unreachable } from './remote-client.js';
import { RetryStreak, TRANSIENT_STATUSES } from './remote-retry.js';
import type { CliIo } from './usage.js';

type JobResult = NonNullable<RemoteJob['result']>;

/** Why a download failed that another try may get past: the network, or a busy server. */
function isTransient(error: unknown): error is RemoteProblem {
  if (!(error instanceof RemoteProblem)) return false;
  return error.transient || TRANSIENT_STATUSES.has(error.status ?? 0);
}

/** The signed link of the file, minted now (the token is sent to the API, never with the link). */
async function signedLink(api: RemoteApi, job: RemoteJob, signal: AbortSignal): Promise<URL> {
  const answer = await api.send(job.links.download, { signal });
  const location = answer.headers.get('location');
  if (answer.status !== 303 || !location) throw await problemOf(answer);
  await answer.body?.cancel();
  return new URL(location, api.resolve(job.links.download));
}

/** A succeeded job's file, where it goes, and how. */
export interface Download {
  api: RemoteApi;
  job: RemoteJob & { result: JobResult };
  target: OutTarget;
  io: CliIo;
  signal: AbortSignal;
  /** XLSX: refused on a terminal. */
  binary: boolean;
}

async function downloadOnce(
  { api, job, target, io, signal, binary }: Download,
  onBytes: (count: number) => void,
): Promise<void> {
  const link = await signedLink(api, job, signal);
  let file: Response;
  try {
    // The signed link is the grant: the token is not sent with it (it may point at S3).
    file = await fetch(link, { signal });
  } catch (error) {
    if (signal.aborted) throw error;
    throw unreachable(link.origin, error);
  }
  if (!file.ok || !file.body) throw await problemOf(file);
  const { result } = job;
  const hash = createHash('sha256');
  let size = 0;
  const body = Readable.fromWeb(file.body as ReadableStream<Uint8Array>);
  async function* checked(): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        hash.update(chunk);
        size += chunk.length;
        onBytes(chunk.length);
        yield chunk;
      }
    } catch (error) {
      if (signal.aborted) throw error;
      // The connection broke off (fetch says "terminated"): the link's, not the file system's.
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new RemoteProblem(
        'download_interrupted',
        `The download broke off after ${bytesText(size)} of ${bytesText(result.size_bytes)} (${cause})`,
        undefined,
        { transient: true },
      );
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

/**
 * Downloads the succeeded job's file to `target`. A failure that retries could not get past is
 * `download_failed` (network, busy server) or what it was (a checksum mismatch, the file system's
 * own error).
 */
export async function download(request: Download): Promise<void> {
  const { api, job, target, signal } = request;
  let streak = new RetryStreak(api.retry);
  for (;;) {
    let written = 0;
    try {
      await downloadOnce(request, (count) => {
        written += count;
      });
      return;
    } catch (error) {
      if (signal.aborted || !isTransient(error)) throw error;
      // A file is written anew; what went to stdout or a device cannot be taken back.
      const restartable = target.kind === 'replace' || written === 0;
      // A try that got bytes ended the failures in a row: --retry-for counts afresh.
      if (written > 0) streak = new RetryStreak(api.retry);
      const wait = restartable ? streak.next(error.message, error.retryAfter) : undefined;
      if (wait === undefined) {
        throw new RemoteProblem(
          'download_failed',
          `Downloading the file of ${job.id} failed: ${error.message}`,
          error.status,
        );
      }
      await sleep(wait, undefined, { signal });
    }
  }
}
