import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { credentialsExpiry } from '../../auth/expiry.js';
import { TakeoutError } from '../../errors.js';
import type { ExportJobs } from '../../jobs/exports-api.js';
import { FINISHED_STATUSES, JOB_STATUSES, type JobRecord, type JobStatus } from '../../jobs/types.js';
import type { Storage } from '../../storage/types.js';
import { principalOf } from '../auth.js';
import { checkPreconditions, etagMatches } from '../etag-match.js';
import { jobDocument, jobEtag, retryAfterSeconds } from '../jobs/document.js';
import { jobEvents } from '../jobs/events.js';
import { logExportId } from '../jobs/log-export-id.js';
import { exactJsonBodies } from '../json-body.js';
import { SLOT_RETRY_AFTER_SECONDS, type SyncSlot, SyncSlots } from '../sync-slots.js';

export interface JobRoutesOptions {
  jobs: ExportJobs;
  storage: Storage;
  /** Lifetime of the signed links `download` mints (TAKEOUT_LINK_TTL). */
  linkTtlSeconds: number;
  /** Aborted when the app closes: progress streams end. */
  shutdown?: AbortSignal;
}

const ACTIVE: readonly JobStatus[] = ['queued', 'running', 'canceling'];
/** Progress streams open at once per caller, and in the process (docs/api.md). */
export const EVENT_STREAMS_PER_PRINCIPAL = 16;
const EVENT_STREAMS_TOTAL = 2000;

function idOf(request: FastifyRequest): string {
  return (request.params as { id: string }).id;
}

/** A query parameter that may be given once: a repeated one is refused, never half-read. */
function single(query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) throw new TakeoutError('invalid_request', `${name} may be given only once`);
  return typeof value === 'string' ? value : undefined;
}

/** `status=a,b` and `status=a&status=b` (what form-style clients send for a list) alike. */
function statusesOf(query: Record<string, unknown>): JobStatus[] | undefined {
  const given = [query.status].flat().filter((value): value is string => typeof value === 'string');
  const statuses = given.filter((value) => value !== '').flatMap((value) => value.split(','));
  for (const s of statuses) {
    if (!(JOB_STATUSES as readonly string[]).includes(s)) {
      throw new TakeoutError('invalid_request', `status must be among ${JOB_STATUSES.join(', ')}`, {
        details: { invalidStatus: s.slice(0, 40) },
      });
    }
  }
  return statuses.length > 0 ? (statuses as JobStatus[]) : undefined;
}

function listQuery(query: Record<string, unknown>) {
  const limitText = single(query, 'limit');
  // Digits only: Number() would also read `0x10`, `1e1` and ` 5`.
  const limit = limitText === undefined ? 20 : /^\d{1,3}$/.test(limitText) ? Number(limitText) : Number.NaN;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw new TakeoutError('invalid_request', 'limit must be a whole number from 1 to 100');
  }
  const status = statusesOf(query);
  const cursor = single(query, 'cursor');
  return {
    limit,
    ...(cursor ? { cursor } : {}),
    ...(status ? { status } : {}),
  };
}

/** Why a job has no file to download, as the error the download route answers with. */
function notDownloadable(job: JobRecord): TakeoutError {
  if (job.status === 'expired') {
    // Its retention ended, or its owner deleted it (DELETE): both leave it `expired`.
    return new TakeoutError('export_expired', 'The file of this export has been deleted', {
      details: { exportStatus: job.status },
    });
  }
  if (ACTIVE.includes(job.status)) {
    return new TakeoutError(
      'export_not_ready',
      `The export is ${job.status}; download it once it succeeded`,
      {
        details: { exportStatus: job.status },
      },
    );
  }
  return new TakeoutError('export_not_downloadable', `The export ${job.status} and has no file`, {
    details: { exportStatus: job.status },
  });
}

/**
 * The routes of one principal's background exports. Every one looks the export up as the
 * caller's own: someone else's id is answered exactly like one that does not exist (404).
 */
export async function jobRoutes(app: FastifyInstance, options: JobRoutesOptions): Promise<void> {
  const { jobs, storage } = options;
  const prefix = app.prefix;
  // Every line of a request about one export names it (the id routes, here and below).
  app.addHook('onRequest', async (request) => {
    const { id } = (request.params ?? {}) as { id?: string };
    if (id !== undefined) logExportId(request, id);
  });

  app.get('/v1/exports', async (request, reply) => {
    const page = await jobs.list(principalOf(request), listQuery(request.query as Record<string, unknown>));
    if (page.nextCursor) {
      // The query the list understood, not whatever else the request carried.
      const query = request.query as Record<string, string | string[] | undefined>;
      const next = new URLSearchParams();
      for (const name of ['limit', 'status']) {
        const value = query[name];
        if (value !== undefined) next.set(name, Array.isArray(value) ? value.join(',') : value);
      }
      next.set('cursor', page.nextCursor);
      reply.header('link', `<${prefix}/v1/exports?${next}>; rel="next"`);
    }
    reply.header('cache-control', 'private, no-cache');
    return {
      exports: page.jobs.map((job) => jobDocument(job, prefix)),
      ...(page.nextCursor ? { next_cursor: page.nextCursor } : {}),
    };
  });

  app.get('/v1/exports/:id', async (request, reply) => {
    const job = await jobs.get(idOf(request), principalOf(request));
    const document = jobDocument(job, prefix);
    const etag = jobEtag(document);
    reply.header('etag', etag).header('cache-control', 'private, no-cache');
    if (ACTIVE.includes(job.status)) reply.header('retry-after', String(retryAfterSeconds(job)));
    if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send();
    return document;
  });

  // `canceling`: the worker stops within about two seconds; poll the export (Location) or
  // watch its events. Each answer is this request's own, as the 202 of a new export is.
  const answerJob = (reply: FastifyReply, job: JobRecord) => {
    reply.header('cache-control', 'no-store');
    if (job.status !== 'canceling') return reply.code(200).send(jobDocument(job, prefix));
    reply
      .header('location', `${prefix}/v1/exports/${encodeURIComponent(job.id)}`)
      .header('retry-after', String(retryAfterSeconds(job)));
    return reply.code(202).send(jobDocument(job, prefix));
  };
  // `If-Match`: act only on the export as the client last saw it (its document's ETag);
  // `If-None-Match`: only when it is no longer so; else 412 (RFC 9110 §13.2.2, unsafe methods).
  // Checked just before acting, not in one step with it: a finished export's document stays.
  const ifMatchJob = async (request: FastifyRequest) => {
    const { 'if-match': ifMatch, 'if-none-match': ifNoneMatch } = request.headers;
    if (ifMatch === undefined && ifNoneMatch === undefined) return;
    const job = await jobs.get(idOf(request), principalOf(request));
    const etag = jobEtag(jobDocument(job, prefix));
    checkPreconditions({ 'if-match': ifMatch }, { etag });
    if (etagMatches(ifNoneMatch, etag)) {
      throw new TakeoutError('precondition_failed', `If-None-Match names the current ETag ${etag}`);
    }
  };
  // These read no body: `Content-Type: application/json` with an empty one is no body.
  await app.register(async (bodiless) => {
    exactJsonBodies(bodiless, { emptyAllowed: true });
    bodiless.post('/v1/exports/:id/cancel', async (request, reply) => {
      await ifMatchJob(request);
      return answerJob(reply, await jobs.cancel(idOf(request), principalOf(request)));
    });
    bodiless.delete('/v1/exports/:id', async (request, reply) => {
      await ifMatchJob(request);
      return answerJob(reply, await jobs.discard(idOf(request), principalOf(request)));
    });
  });

  /**
   * The file a succeeded record names is not in storage while its retention lasts. Deleted with
   * its export meanwhile (DELETE), the export answers as it now is. Else nothing of Takeout's
   * deleted it: a worker wrote it to other storage (its own disk without STORAGE_URL, another
   * bucket or prefix), or it was removed behind Takeout's back. Not `export_expired`, which would
   * tell the owner the file went with its retention and the operator nothing: a 502 for the
   * operator to see, logged as an error with the export and the key.
   */
  async function missingFile(request: FastifyRequest, job: JobRecord, key: string): Promise<never> {
    const latest = await jobs.get(job.id, principalOf(request)); // export_not_found once removed
    if (latest.status !== 'succeeded') throw notDownloadable(latest);
    const log = request.log as FastifyRequest['log'] & { bindings?: () => Record<string, unknown> };
    log.error(
      {
        ...(log.bindings?.().exportId === job.id ? {} : { exportId: job.id }),
        key,
        storage: storage.kind,
        expiresAt: job.expiresAt?.toISOString(),
      },
      'the file this succeeded export names is not in storage though its retention has not ended: was it written by a worker on other storage (no STORAGE_URL, another bucket or prefix)?',
    );
    throw new TakeoutError(
      'storage_error',
      'The file of this export is missing from the file store, though its retention has not ended',
    );
  }

  /** A link to a succeeded export's file, minted now for this request only: never stored or shown in job documents. */
  async function mintLink(
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<{ url: string; expiresAt: Date }> {
    const job = await jobs.get(idOf(request), principalOf(request));
    reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
    if (job.status !== 'succeeded' || !job.result) {
      if (ACTIVE.includes(job.status)) reply.header('retry-after', String(retryAfterSeconds(job)));
      throw notDownloadable(job);
    }
    const { key, filename, contentType } = job.result;
    // Its retention is over, though the sweeper may not have come by yet (the file may be gone
    // already: an S3 lifecycle rule).
    const now = Date.now();
    const retained = job.expiresAt === undefined || job.expiresAt.getTime() > now;
    if (!retained) throw notDownloadable({ ...job, status: 'expired' });
    if (!(await storage.stat(key))) await missingFile(request, job, key);
    // A link never outlives the file's retention (a store's lifecycle rule may keep the object
    // a day longer: the link would go on downloading an export shown as expired): the store
    // ends it by then. Counted from after the stat; under a second left, no link is worth it.
    const signedAt = Date.now();
    const left = job.expiresAt === undefined ? Number.POSITIVE_INFINITY : job.expiresAt.getTime() - signedAt;
    if (left < 1000) throw notDownloadable({ ...job, status: 'expired' });
    const expiresIn = Math.min(options.linkTtlSeconds, Math.floor(left / 1000));
    const url = await storage.signedUrl(key, {
      expiresIn,
      filename,
      contentType,
      ...(job.expiresAt ? { notAfter: job.expiresAt } : {}),
    });
    // A link capped by the retention ends at its whole second (the stores sign whole seconds).
    const retentionEnd = job.expiresAt ? Math.floor(job.expiresAt.getTime() / 1000) * 1000 : Infinity;
    return { url, expiresAt: new Date(Math.min(signedAt + expiresIn * 1000, retentionEnd)) };
  }

  app.get('/v1/exports/:id/download', async (request, reply) => {
    const { url } = await mintLink(request, reply);
    return reply.code(303).header('location', url).send();
  });

  // The same link as a document, for a script that cannot follow a redirect to another origin
  // with its credentials (the export page with a token, S3 links).
  app.get('/v1/exports/:id/link', async (request, reply) => {
    const { url, expiresAt } = await mintLink(request, reply);
    return reply.send({ url, expires_at: expiresAt.toISOString() });
  });

  // Each open stream reads the job store every second: a caller holds a few at a time.
  const streams = new SyncSlots({ total: EVENT_STREAMS_TOTAL, perPrincipal: EVENT_STREAMS_PER_PRINCIPAL });
  app.get('/v1/exports/:id/events', async (request, reply) => {
    const principal = principalOf(request);
    const first = await jobs.get(idOf(request), principal); // 404 before the stream starts
    const lastEventId = request.headers['last-event-id'];
    let slot: SyncSlot | undefined;
    try {
      // A HEAD answers at once, with no stream to hold a slot.
      if (request.method !== 'HEAD') slot = streams.acquire(principal);
    } catch {
      reply.header('retry-after', String(SLOT_RETRY_AFTER_SECONDS));
      throw new TakeoutError(
        'rate_limited',
        `At most ${EVENT_STREAMS_PER_PRINCIPAL} progress streams per caller (and ${EVENT_STREAMS_TOTAL} in all) are open at once; close one or poll the export`,
        { details: { limit: EVENT_STREAMS_PER_PRINCIPAL } },
      );
    }
    try {
      return await jobEvents(request, reply, {
        first,
        // The final state with its notifications, as the first event has them.
        next: async () => {
          const job = await jobs.find(first.id, principal);
          if (!job || !FINISHED_STATUSES.includes(job.status)) return job;
          return jobs.get(first.id, principal).catch(() => undefined);
        },
        prefix,
        until: credentialsExpiry(principal),
        ...(typeof lastEventId === 'string' ? { lastEventId } : {}),
        ...(options.shutdown ? { shutdown: options.shutdown } : {}),
      });
    } finally {
      slot?.release();
    }
  });
}
