import { createHash } from 'node:crypto';
import type { JobRecord } from '../../jobs/types.js';
import { type JobView, jobView } from '../../jobs/view.js';

/** A job as the API shows it: the owner's view plus the routes that act on it. Never a signed URL. */
export interface JobDocument extends JobView {
  links: { self: string; events: string; download: string; link: string; cancel: string };
}

export function jobDocument(job: JobRecord, prefix: string): JobDocument {
  const self = `${prefix}/v1/exports/${encodeURIComponent(job.id)}`;
  return {
    ...jobView(job),
    links: {
      self,
      events: `${self}/events`,
      download: `${self}/download`,
      link: `${self}/link`,
      cancel: `${self}/cancel`,
    },
  };
}

/** A strong validator of what the owner sees: it changes whenever the document does. */
export function jobEtag(document: JobDocument): string {
  return `"${createHash('sha256').update(JSON.stringify(document)).digest('base64url').slice(0, 27)}"`;
}

/**
 * Seconds a client should wait before polling again: short at first, longer for long jobs;
 * 1 while it is canceling, which ends within about two seconds whatever the job's age.
 */
export function retryAfterSeconds(job: JobRecord, now = Date.now()): number {
  if (job.status === 'canceling') return 1;
  const age = (now - job.createdAt.getTime()) / 1000;
  return age < 10 ? 1 : age < 60 ? 2 : 5;
}
