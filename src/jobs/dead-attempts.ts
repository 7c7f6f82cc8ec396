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
