/**
 * What earlier attempts of a job left in storage. An attempt killed after its upload completed
 * (or whose S3 server went away as it completed), or one that lost its lease while finishing,
 * leaves a whole file under its own key that no record points to; one killed mid-upload leaves
 * an unfinished multipart upload. A later attempt holds the job, so no earlier attempt can
 * win any more: everything under the job's folder but the current attempt's key goes.
 */
import { coerceError } from '../errors.js';
import type { Storage } from '../storage/types.js';
import type { JobLogger } from './log.js';

export async function removeDeadAttempts(
  storage: Storage,
  exportId: string,
  key: string,
  log: Pick<JobLogger, 'warn'>,
): Promise<void> {
  const folder = key.slice(0, key.indexOf(`/${exportId}/`) + exportId.length + 2);
  try {
    await storage.removeIncomplete(new Date(), { prefix: folder });
    for await (const item of storage.list(folder)) if (item.key !== key) await storage.delete(item.key);
  } catch (error) {
    // Their own expiry (and the bucket's lifecycle rule) removes them later.
    log.warn({ code: coerceError(error).code }, 'could not remove what earlier attempts left');
  }
}

/** Tries after the first to delete an attempt's own file, seconds apart: 2, 4, 8, 16, 32. */
const UNRECORDED_RETRIES = 5;

/**
 * Deletes the file a failed attempt wrote and no record names. Its store may be the reason the
 * attempt failed (S3 down), and the last attempt has no later one to clean up after it: the
 * delete is tried again in the background for about a minute, then left to the file's expiry.
 */
export async function removeUnrecorded(
  storage: Storage,
  key: string,
  log: Pick<JobLogger, 'warn'>,
  retries = UNRECORDED_RETRIES,
): Promise<void> {
  const attempt = (n: number): Promise<void> =>
    storage.delete(key).catch((error: unknown) => {
      if (n >= retries) {
        log.warn(
          { code: coerceError(error).code },
          "could not delete a failed attempt's file; its expiry will",
        );
        return;
      }
      setTimeout(() => void attempt(n + 1), 2000 * 2 ** n).unref();
    });
  await attempt(0);
}
