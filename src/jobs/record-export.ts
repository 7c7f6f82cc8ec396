/**
 * The record of a new background export: the request checked, inline rows staged in storage,
 * the record created (or the first one of an idempotent replay found). What `ExportJobs.create`
 * does before it enqueues; apart so that the API class keeps to its calls.
 */
import type { Principal } from '../datasets/define.js';
import { isTakeoutError, TakeoutError } from '../errors.js';
import type { ExportRequest } from '../exports/request.js';
import { NO_NOTIFY } from '../notify/config.js';
import { notifyTargets } from '../notify/targets.js';
import type { CreateExportOptions, ExportJobsOptions } from './exports-api.js';
import { newExportId } from './ids.js';
import { ownerOf } from './owner.js';
import { requestHash } from './request-hash.js';
import { stageRows, stagingKey } from './staging.js';
import { refuseUnstorable } from './storable.js';
import type { CreateResult } from './types.js';

const MAX_IDEMPOTENCY_KEY = 255;

/** Throws `unknown_dataset`, `too_many_exports`, `idempotency_conflict`, `invalid_request`. */
export async function recordExport(
  options: ExportJobsOptions,
  request: ExportRequest,
  principal: Principal,
  create: CreateExportOptions,
): Promise<CreateResult> {
  const { settings, storage, exports, store } = options;
  const key = create.idempotencyKey;
  if (key !== undefined && (key === '' || key.length > MAX_IDEMPOTENCY_KEY)) {
    throw new TakeoutError(
      'invalid_request',
      `The idempotency key must be 1 to ${MAX_IDEMPOTENCY_KEY} characters`,
    );
  }
  const { rows: inlineRows, ...rest } = request;
  refuseUnstorable(rest, key);
  const rows = create.rows ?? inlineRows;
  const notify = notifyTargets(request.notify, options.notify ?? NO_NOTIFY);
  if (rows === undefined) exports.datasets.get(request.dataset ?? '', principal); // unknown_dataset now, not later
  const id = newExportId();
  const staged =
    rows === undefined
      ? undefined
      : await stageRows(storage, stagingKey(storage, id), rows, {
          maxBytes: settings.maxInputBytes,
          // Past its record's retention nothing can need the rows any more.
          expiresAt: new Date(Date.now() + settings.recordTtlSeconds * 1000),
        });
  let result: CreateResult;
  try {
    const hash = requestHash(rest, staged?.sha256);
    result = await store.create(
      {
        id,
        owner: ownerOf(principal),
        principal: { ...principal },
        request: rest as unknown as Record<string, unknown>,
        requestHash: hash,
        ...(key !== undefined ? { idempotencyKey: key } : {}),
        ...(staged ? { inputKey: staged.key, progress: { rowsEstimated: staged.rowCount } } : {}),
        ...(notify.length ? { notify } : {}),
      },
      { maxActivePerOwner: settings.maxActivePerOwner },
    );
  } catch (error) {
    // A refusal leaves no record: its rows go. A store failure may have committed the record
    // all the same (the answer to COMMIT lost): its rows stay, and the staging sweep deletes
    // them after an hour if no record names them.
    const refused = isTakeoutError(error) && error.code !== 'job_store_error' && error.code !== 'internal';
    if (staged && refused) await storage.delete(staged.key).catch(() => {});
    throw error;
  }
  // Idempotent replay: the first request's record (and its own staged rows) stand.
  if (!result.created && staged) await storage.delete(staged.key).catch(() => {});
  return result;
}
