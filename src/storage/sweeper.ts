/**
 * Deletes stored files whose retention has ended, to the second (S3 lifecycle rules only act
 * per day, some time after midnight UTC). Idempotent and safe to run from many processes at
 * once: every file carries its own expiry instant, a delete of a missing file succeeds, and a
 * file that vanished between listing and checking is skipped.
 */
import { coerceError, type TakeoutError } from '../errors.js';
import { forEachConcurrent } from './streams.js';
import type { Storage } from './types.js';

export interface SweepOptions {
  /** The instant to compare expiries with. Default: now. */
  now?: Date;
  /** Only files under this key prefix. Default: the storage's prefix (`generated/`). */
  prefix?: string;
  /** Files checked at once (each check is a HEAD request on S3). Default 8. */
  concurrency?: number;
  /**
   * Leftovers of unfinished writes older than this are removed. Default 24 h; 0 skips. A
   * service whose exports may run longer passes `incompleteAfterMsFor(jobTimeoutMs)`: an
   * upload still in progress must never be taken for a leftover.
   */
  incompleteAfterMs?: number;
  /** Called for each file that could not be checked or deleted; the sweep goes on. */
  onError?: (key: string, error: TakeoutError) => void;
}

export interface SweepResult {
  /** Files listed. */
  scanned: number;
  /** Files this sweep deleted (a concurrent sweep may have deleted the same file too). */
  deleted: number;
  /** Files whose retention has not ended. */
  kept: number;
  /** Files without an expiry in their metadata: left alone. */
  withoutExpiry: number;
  failed: number;
  /** Temp files / incomplete multipart uploads removed. */
  incompleteRemoved: number;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/**
 * The age after which an unfinished upload or temp file is a leftover: 24 h, or the job time
 * limit (TAKEOUT_JOB_TIMEOUT) plus an hour's margin when that is longer, so that an export still
 * running within its limit keeps its upload.
 */
export function incompleteAfterMsFor(jobTimeoutMs: number): number {
  return Math.max(DAY_MS, jobTimeoutMs + HOUR_MS);
}

export async function sweepExpired(storage: Storage, options: SweepOptions = {}): Promise<SweepResult> {
  const now = options.now ?? new Date();
  const result: SweepResult = {
    scanned: 0,
    deleted: 0,
    kept: 0,
    withoutExpiry: 0,
    failed: 0,
    incompleteRemoved: 0,
  };
  const fail = (key: string, error: unknown) => {
    result.failed++;
    options.onError?.(key, coerceError(error));
  };

  try {
    await forEachConcurrent(
      storage.list(options.prefix ?? storage.prefix),
      options.concurrency ?? 8,
      async (item) => {
        result.scanned++;
        try {
          const info = await storage.stat(item.key);
          if (!info) return; // deleted meanwhile, e.g. by another sweeper
          if (!info.expiresAt) {
            result.withoutExpiry++;
          } else if (info.expiresAt.getTime() <= now.getTime()) {
            await storage.delete(item.key);
            result.deleted++;
          } else {
            result.kept++;
          }
        } catch (error) {
          fail(item.key, error);
        }
      },
    );
  } catch (error) {
    fail(options.prefix ?? storage.prefix, error); // the listing itself failed
  }

  const incompleteAfterMs = options.incompleteAfterMs ?? DAY_MS;
  if (incompleteAfterMs > 0) {
    try {
      // A sweep of one prefix leaves other prefixes' unfinished uploads alone.
      result.incompleteRemoved = await storage.removeIncomplete(
        new Date(now.getTime() - incompleteAfterMs),
        options.prefix === undefined ? {} : { prefix: options.prefix },
      );
    } catch (error) {
      fail('(incomplete uploads)', error);
    }
  }
  return result;
}
