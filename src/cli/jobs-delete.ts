/**
 * `takeout jobs delete ID`: what `DELETE /v1/exports/{id}` does for its owner, for operators.
 * A succeeded export's file is deleted now and the record becomes `expired` (kept until
 * TAKEOUT_RECORD_TTL); an active export is canceled. The storage comes from this shell's
 * environment, which may not be the service's: the file is looked for there before anything
 * changes, so "deleted" is never said of a file left elsewhere.
 */

import { TakeoutError } from '../errors.js';
import { discardExport } from '../jobs/lifecycle.js';
import type { JobRecord } from '../jobs/types.js';
import { visibleStatus } from '../jobs/view.js';
import type { Storage } from '../storage/types.js';
import { withStore } from './job-store.js';
import { storageOfEnv } from './storage.js';
import { type CliIo, CommandError } from './usage.js';

/** Where the storage keeps files, as the operator configured it. */
function storageWhere(storage: Storage): string {
  const located = storage as Storage & { root?: string; bucket?: string; prefix?: string };
  if (located.root) return located.root;
  return located.bucket ? `s3://${located.bucket}/${located.prefix ?? ''}` : storage.kind;
}

export async function deleteJob(id: string, io: CliIo, line: (job: JobRecord) => string): Promise<number> {
  const storage = await storageOfEnv(io.env);
  try {
    const said = await withStore(io.env, { create: false }, async (store) => {
      const found = await store.get(id);
      if (!found) throw new TakeoutError('export_not_found', `No export ${id}`);
      const key = found.result?.key;
      const was = visibleStatus(found);
      if (key && (was === 'succeeded' || was === 'expired')) {
        const there = await storage.stat(key);
        if (!there && was === 'succeeded') {
          throw new CommandError(
            'storage_error',
            `${id}'s file ${key} is not in ${storageWhere(storage)}: is STORAGE_URL (or TAKEOUT_DATA_DIR) the service's? Nothing was changed`,
          );
        }
        if (was === 'expired') {
          // Past its retention (the record may still say succeeded until the sweeper comes), or
          // a delete whose file could not go: the record marked, the file deleted if still there.
          const job =
            found.status === 'succeeded'
              ? await discardExport(store, (file) => storage.delete(file), id)
              : found;
          if (there && found.status !== 'succeeded') await storage.delete(key);
          const note = there
            ? ' was expired: its file is deleted now'
            : ' was expired: its file is already gone';
          return { job: job ?? found, note };
        }
      }
      const after = await discardExport(store, (file) => storage.delete(file), id);
      if (!after) throw new TakeoutError('export_not_found', `No export ${id}`);
      if (found.status === 'succeeded' && after.status === 'expired')
        return { job: after, note: ': its file is deleted' };
      const active = was === 'queued' || was === 'running';
      return { job: after, note: active ? undefined : ` was ${was}: it has no file to delete` };
    });
    io.stdout.write(`${line(said.job)}\n`);
    if (said.note) io.stderr.write(`takeout: ${id}${said.note}\n`);
    return 0;
  } finally {
    await storage.close();
  }
}
