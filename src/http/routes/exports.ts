import { validateHeaderValue } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { contentDisposition } from '../../content-disposition.js';
import { TakeoutError } from '../../errors.js';
import type { ExportContext, ExportLimits } from '../../exports/plan.js';
import { planExport } from '../../exports/plan.js';
import { parseExportRequest } from '../../exports/request.js';
import { runExport } from '../../exports/run.js';
import type { ExportJobs } from '../../jobs/exports-api.js';
import type { TakeoutMetrics } from '../../metrics.js';
import { SOURCE_CLOSE_WAIT_MS, settledWithin } from '../../settle.js';
import { principalOf } from '../auth.js';
import { answerWithJob, WAITS_PER_PRINCIPAL, WAITS_TOTAL } from '../jobs/answer.js';
import { parsePrefer } from '../prefer.js';
import { SyncExchange, type SyncTimeouts } from '../sync-exchange.js';
import { SLOT_RETRY_AFTER_SECONDS, SyncSlots } from '../sync-slots.js';

export interface ExportRoutesOptions {
  exports: ExportContext;
  /** The process's sync-export slots (a total and a per-principal cap). */
  slots: SyncSlots;
  timeouts: SyncTimeouts;
  /** Aborted when the server shuts down: every export in flight stops. */
  shutdown: AbortSignal;
  /**
   * Background exports: an export past the sync limits (or asked for with
   * `Prefer: respond-async`) becomes a job instead of `413 sync_limit_exceeded`.
   */
  jobs?: ExportJobs;
  /** Where finished sync exports count their rows and bytes. */
  metrics?: TakeoutMetrics;
}

function tooLarge(limits: ExportLimits): TakeoutError {
  return new TakeoutError(
    'sync_limit_exceeded',
    `This export is too large to stream in the response (at most ${limits.syncMaxRows} rows, ${limits.syncMaxCells} cells and ${limits.syncMaxBytes} bytes); narrow it with params or columns`,
    {
      details: { limit: limits.syncMaxRows, cellLimit: limits.syncMaxCells, byteLimit: limits.syncMaxBytes },
    },
  );
}

/** The response headers of a planned export, checked before anything is sent. */
function fileHeaders(contentType: string, filename: string): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': contentType,
    'content-disposition': contentDisposition(filename),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  };
  for (const [name, value] of Object.entries(headers)) validateHeaderValue(name, value);
  return headers;
}

/**
 * `POST /v1/exports`: small exports stream straight back in the response. Planning and
 * running are the export core's; this route maps HTTP onto them. Everything a request
 * holds has one owner and one exit: the slot and the exchange (listeners, timers) are taken
 * before the first await and given back in the `finally`, after the export has settled and
 * its source is closed (or, after the answer, once a planning abandoned on an abort has
 * closed its source, within a bound); the plan's source is closed by the inner `finally`
 * unless `runExport` took it, and `runExport` closes what it takes however it ends.
 */
export async function exportRoutes(app: FastifyInstance, options: ExportRoutesOptions): Promise<void> {
  const context = options.exports;
  const waits = new SyncSlots({ total: WAITS_TOTAL, perPrincipal: WAITS_PER_PRINCIPAL });

  app.post('/v1/exports', async (request, reply) => {
    const principal = principalOf(request);
    if (!/^application\/([a-z.+-]+\+)?json\b/i.test(request.headers['content-type'] ?? '')) {
      throw new TakeoutError('unsupported_media_type', 'The request body must be application/json');
    }
    const body = parseExportRequest(request.body, context.formats);
    const prefer = parsePrefer(request.headers.prefer);
    const { jobs } = options;
    // Whoever asks to be notified gets a background export (the file is not in the answer).
    if (body.notify) {
      if (!jobs)
        throw new TakeoutError('invalid_request', 'notify needs background exports, which are off here');
      jobs.checkNotify(body);
    }
    // `Prefer: respond-async` (or `notify`) is a job whatever its size: it streams nothing, so
    // it takes no sync slot (a burst of job creations is never `too_busy`) and needs no estimate.
    // So is a request with an `Idempotency-Key`: the key names a job, and a retry must get that
    // job (or a conflict), whatever the estimate says this time.
    const keyed = request.headers['idempotency-key'] !== undefined;
    const forcedJob = jobs !== undefined && (prefer.respondAsync || Boolean(body.notify) || keyed);
    // Set when the export becomes a job: answered after the slot is given back.
    let asJob = false;
    let slot: ReturnType<SyncSlots['acquire']> | undefined;
    try {
      if (!forcedJob) slot = options.slots.acquire(principal);
    } catch (error) {
      reply.header('retry-after', String(SLOT_RETRY_AFTER_SECONDS));
      throw error;
    }
    const exchange = new SyncExchange(reply, options.timeouts, options.shutdown);
    // The source's close when planning was abandoned: the slot is held until it is done.
    let abandoned: Promise<void> | undefined;
    try {
      const plan = await planExport(body, principal, context, {
        signal: exchange.signal,
        estimate: !forcedJob,
        onBackgroundClose: (closing) => {
          abandoned = closing;
        },
      });
      try {
        if (jobs && (forcedJob || !plan.sync.fits)) {
          asJob = true;
        } else {
          if (!plan.sync.fits) throw tooLarge(context.limits);
          const headers = fileHeaders(plan.contentType, plan.filename);
          const done = await runExport(plan, (bytes) => exchange.respond(headers, bytes), {
            signal: exchange.signal,
            maxRows: plan.syncCaps.maxRows,
            maxBytes: plan.syncCaps.maxBytes,
            checksum: false,
          });
          const labels = { path: 'sync', format: body.format };
          options.metrics?.rowsWritten.inc(labels, done.rows);
          options.metrics?.bytesWritten.inc(labels, done.bytes);
        }
      } finally {
        await plan.close();
      }
    } catch (error) {
      // Before the first byte an error is a problem response (the exchange's own reason when it
      // ended the export: a timeout, the server shutting down); after it, the cut stream says it.
      // A source that could not tell its size and passed the sync limits before the first
      // byte has sent nothing: with jobs, it becomes one.
      if (!exchange.started) {
        if (exchange.signal.aborted) throw exchange.signal.reason;
        if (!jobs || (error as TakeoutError).code !== 'sync_limit_exceeded') throw error;
        asJob = true;
      } else {
        const cause = exchange.failure ?? error;
        request.log.warn(
          { code: (cause as TakeoutError).code ?? 'internal', reason: (cause as Error).message },
          'export stream ended before the end of the file',
        );
      }
    } finally {
      const release = () => {
        exchange.dispose();
        slot?.release();
      };
      // A source abandoned while planning (stuck in a read that ignores the abort) may take a
      // while to close: the answer does not wait for it, the slot does (within a bound).
      if (abandoned) void settledWithin(abandoned, SOURCE_CLOSE_WAIT_MS).then(release);
      else release();
    }
    if (asJob && jobs) {
      return answerWithJob(request, reply, {
        jobs,
        request: body,
        principal,
        prefer,
        prefix: app.prefix,
        waits,
      });
    }
    return reply;
  });
}
