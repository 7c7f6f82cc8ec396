/**
 * What earlier attempts of a job left in storage. An attempt killed after its upload completed
 * (or whose S3 server went away as it completed), or one that lost its lease while finishing,
 * leaves a whole file under its own key that no record points to; one killed mid-upload leaves
 * an unfinished multipart upload. Each attempt writes under its own `a<n>/`.
 */
import { coerceError } from '../errors.js';
import { exportFolder } from '../storage/keys.js';
import type { Storage } from '../storage/types.js';
import type { JobLogger } from './log.js';
import type { JobRecord } from './types.js';

/**
 * Removes what the attempts numbered below `before` left: an attempt that holds the job
 * clears its predecessors' leftovers, and only theirs (a stalled older attempt that comes
 * back must not touch a newer one's file, which a succeeded record may name). With
 * `before` infinite, everything under the job's folder goes: the job ended without a file.
 * The store may be down (a job failing during an S3 outage ends here, with no later attempt
 * to clean up after it): tried again in the background for about a minute, as below.
 */
export async function removeDeadAttempts(
  storage: Storage,
  job: Pick<JobRecord, 'id' | 'createdAt'>,
  before: number,
  log: Pick<JobLogger, 'warn'>,
  retries = CLEAN_UP_RETRIES,
): Promise<void> {
  const folder = exportFolder({ exportId: job.id, createdAt: job.createdAt, prefix: storage.prefix });
  const attemptOf = (key: string) => {
    const match = /^a(\d+)\//.exec(key.slice(folder.length));
    return match ? Number(match[1]) : undefined;
  };
  const dead = (n: number | undefined) =>
    before === Number.POSITIVE_INFINITY || (n !== undefined && n < before);
  const remove = async () => {
    if (before === Number.POSITIVE_INFINITY) await storage.removeIncomplete(new Date(), { prefix: folder });
    else
      for (let n = 1; n < before; n++)
        await storage.removeIncomplete(new Date(), { prefix: `${folder}a${n}/` });
    for await (const item of storage.list(folder))
      if (dead(attemptOf(item.key))) await storage.delete(item.key);
  };
  // Then their own expiry (and the bucket's lifecycle rule) removes them.
  await retriedInBackground(remove, retries, log, 'could not remove what earlier attempts left');
}

/** Tries after the first of a clean-up while the store fails, seconds apart: 2, 4, 8, 16, 32. */
const CLEAN_UP_RETRIES = 5;

/**
 * Runs `work`; when it fails, runs it again in the background (unref'd timers) `retries`
 * times, 2 s apart doubling, then warns once. Resolves after the first try.
 */
async function retriedInBackground(
  work: () => Promise<void>,
  retries: number,
  log: Pick<JobLogger, 'warn'>,
  warning: string,
): Promise<void> {
  const attempt = (n: number): Promise<void> =>
    work().catch((error: unknown) => {
      if (n >= retries) {
        log.warn({ code: coerceError(error).code }, warning);
        return;
      }
      setTimeout(() => void attempt(n + 1), 2000 * 2 ** n).unref();
    });
  await attempt(0);
}

/**
 * Deletes the file a failed attempt wrote and no record names, and its unfinished multipart
 * upload (an upload cut while S3 was down could not be aborted then). Its store may be the
 * reason the attempt failed, and the last attempt has no later one to clean up after it: both
 * are tried again in the background for about a minute, then left to the file's expiry and
 * the bucket's lifecycle rule.
 */
export async function removeUnrecorded(
  storage: Storage,
  key: string,
  log: Pick<JobLogger, 'warn'>,
  retries = CLEAN_UP_RETRIES,
): Promise<void> {
  const remove = async () => {
    await storage.removeIncomplete(new Date(), { prefix: key });
    await storage.delete(key);
  };
  await retriedInBackground(
    remove,
    retries,
    log,
    "could not delete a failed attempt's file; its expiry will",
  );
}
