/**
 * A job as `takeout jobs show` and `jobs list --json` print it: the document its owner gets
 * from the API (snake_case, the status they see: a file past its retention is `expired`),
 * plus what only an operator needs: whose it is, the status its record holds, the request, the
 * lease of the attempt running it and when a queued retry may start, where its file is, the
 * last attempt's error even when a retry went on, and every delivery of its notifications, the
 * service-wide webhook's included. Never the request hash or the idempotency key.
 */
import type { JobRecord } from '../jobs/types.js';
import { type JobView, jobView } from '../jobs/view.js';
import type { Delivery } from '../notify/types.js';
import { deliveryView } from '../notify/view.js';

export interface OperatorJobView extends Omit<JobView, 'notifications'> {
  /** `ID` or `ID:TENANT`, as `--owner` takes it. */
  owner: string;
  /** The status in the record: `succeeded` while `status` says `expired` until the sweeper comes. */
  record_status: JobRecord['status'];
  /** The export request as stored (its inline rows are staged apart, never here). */
  request: Record<string, unknown>;
  updated_at: string;
  /** The attempt holding a running job, and until when unless it renews the hold. */
  lease?: { owner: string; expires_at: string };
  /** A queued retry does not start before this. */
  run_after?: string;
  /** The file's key in storage. */
  file_key?: string;
  /** The last attempt's error, also when the job went on (retried, then succeeded or canceled). */
  last_error?: { code: string; message: string; retryable: boolean };
  deliveries?: ReturnType<typeof deliveryView>[];
}

export function ownerText(job: JobRecord): string {
  return job.owner.tenant ? `${job.owner.id}:${job.owner.tenant}` : job.owner.id;
}

export function operatorJobView(job: JobRecord, deliveries?: readonly Delivery[]): OperatorJobView {
  const { notifications: _owners, ...view } = jobView(job);
  return {
    ...view,
    owner: ownerText(job),
    record_status: job.status,
    request: job.request,
    updated_at: job.updatedAt.toISOString(),
    ...(job.lease
      ? { lease: { owner: job.lease.owner, expires_at: job.lease.expiresAt.toISOString() } }
      : {}),
    ...(job.runAfter && job.status === 'queued' ? { run_after: job.runAfter.toISOString() } : {}),
    ...(job.result ? { file_key: job.result.key } : {}),
    ...(job.error && !view.error ? { last_error: { ...job.error } } : {}),
    ...(deliveries && deliveries.length > 0 ? { deliveries: deliveries.map(deliveryView) } : {}),
  };
}
