/**
 * A job as `takeout jobs show` and `jobs list --json` print it: the document its owner gets
 * from the API (snake_case, the status they see: a file past its retention is `expired`),
 * plus what only an operator needs: whose it is, where its file is, the last attempt's error
 * even when a retry went on, and every delivery of its notifications, the service-wide
 * webhook's included. Never the lease, the request hash or the idempotency key.
 */
import type { JobRecord } from '../jobs/types.js';
import { type JobView, jobView } from '../jobs/view.js';
import type { Delivery } from '../notify/types.js';
import { deliveryView } from '../notify/view.js';

export interface OperatorJobView extends Omit<JobView, 'notifications'> {
  /** `ID` or `ID:TENANT`, as `--owner` takes it. */
  owner: string;
  updated_at: string;
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
    updated_at: job.updatedAt.toISOString(),
    ...(job.result ? { file_key: job.result.key } : {}),
    ...(job.error && !view.error ? { last_error: { ...job.error } } : {}),
    ...(deliveries && deliveries.length > 0 ? { deliveries: deliveries.map(deliveryView) } : {}),
  };
}
