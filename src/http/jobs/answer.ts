import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../datasets/define.js';
import type { ExportRequest } from '../../exports/request.js';
import type { ExportJobs } from '../../jobs/exports-api.js';
import { FINISHED_STATUSES, type JobRecord } from '../../jobs/types.js';
import type { Preferences } from '../prefer.js';
import type { SyncSlots } from '../sync-slots.js';
import { clientGone } from './client-gone.js';
import { jobDocument, retryAfterSeconds } from './document.js';
import { logExportId } from './log-export-id.js';

export interface JobAnswerOptions {
  jobs: ExportJobs;
  request: ExportRequest;
  principal: Principal;
  prefer: Preferences;
  prefix: string;
  /** Who may wait now (`Prefer: wait`): each wait reads the job store four times a second. */
  waits: SyncSlots;
}

/** Requests one caller may have waiting on their jobs at once; more are answered at once. */
export const WAITS_PER_PRINCIPAL = 16;
/** Requests waiting on their jobs in one process at once. */
export const WAITS_TOTAL = 2000;

/** Polls the job until it finished, `seconds` passed or the client left. */
async function waitForJob(
  jobs: ExportJobs,
  job: JobRecord,
  principal: Principal,
  seconds: number,
  gone: AbortSignal,
): Promise<JobRecord> {
  const deadline = Date.now() + seconds * 1000;
  let current = job;
  while (!FINISHED_STATUSES.includes(current.status) && Date.now() < deadline && !gone.aborted) {
    await sleep(Math.min(250, Math.max(0, deadline - Date.now())), undefined, { signal: gone }).catch(
      () => {},
    );
    if (gone.aborted) break;
    current = (await jobs.find(job.id, principal)) ?? current;
  }
  return current;
}

/**
 * Answers `POST /v1/exports` with a background job: `202 Accepted` with `Location` and
 * `Retry-After`, or `303 See Other` to a job that is finished: `Prefer: wait=N` saw it finish
 * in time, or an `Idempotency-Key` (retries return the same job) named one already finished,
 * wait or not; its document is where the client goes next.
 */
export async function answerWithJob(
  httpRequest: FastifyRequest,
  reply: FastifyReply,
  options: JobAnswerOptions,
): Promise<FastifyReply> {
  const { jobs, principal, prefer, prefix } = options;
  const key = httpRequest.headers['idempotency-key'];
  const created = await jobs.create(
    options.request,
    principal,
    typeof key === 'string' ? { idempotencyKey: key } : {},
  );
  let job = created.job;
  logExportId(httpRequest, job.id);
  const applied = prefer.respondAsync ? ['respond-async'] : [];
  // A preference, not a demand (RFC 7240): without a free slot the answer comes at once.
  const slot = prefer.waitSeconds > 0 ? options.waits.tryAcquire(principal) : undefined;
  if (slot) {
    try {
      job = await waitForJob(jobs, job, principal, prefer.waitSeconds, clientGone(httpRequest, reply));
    } finally {
      slot.release();
    }
    applied.push(`wait=${prefer.waitSeconds}`);
  }
  const location = `${prefix}/v1/exports/${encodeURIComponent(job.id)}`;
  if (applied.length > 0) reply.header('preference-applied', applied.join(', '));
  reply.header('location', location).header('cache-control', 'no-store');
  if (FINISHED_STATUSES.includes(job.status)) return reply.code(303).send(jobDocument(job, prefix));
  reply.header('content-location', location).header('retry-after', String(retryAfterSeconds(job)));
  return reply.code(202).send(jobDocument(job, prefix));
}
