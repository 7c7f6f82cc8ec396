/**
 * What an event says about an export: the thin facts receivers need to decide what to do
 * (fetch the job through the API with their own credentials). Never a file URL.
 */
import type { JobRecord } from '../jobs/types.js';
import type { EventData, NotifyEvent } from './types.js';

/** The event a finished status announces, or undefined for states that are not final. */
export function eventOf(status: JobRecord['status']): NotifyEvent | undefined {
  switch (status) {
    case 'succeeded':
    case 'failed':
    case 'canceled':
    case 'expired':
      return `export.${status}`;
    default:
      return undefined;
  }
}

export function eventData(job: JobRecord): EventData {
  const data: EventData = { id: job.id, status: job.status, owner: { ...job.owner } };
  if (typeof job.request.dataset === 'string') data.dataset = job.request.dataset;
  if (job.result) {
    data.row_count = job.result.rowCount;
    data.size_bytes = job.result.sizeBytes;
    data.filename = job.result.filename;
  }
  if (job.status === 'succeeded' && job.expiresAt) data.expires_at = job.expiresAt.toISOString();
  if (job.status === 'failed' && job.error) data.error = { code: job.error.code, message: job.error.message };
  return data;
}

/** The webhook body: Standard Webhooks' `{ type, timestamp, data }`, with the job's API URL. */
export function webhookBody(event: NotifyEvent, at: Date, data: EventData, jobUrl: string): string {
  return JSON.stringify({ type: event, timestamp: at.toISOString(), data: { ...data, url: jobUrl } });
}
