import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { FastifyInstance } from 'fastify';
import { contentDisposition } from '../../content-disposition.js';
import { TakeoutError } from '../../errors.js';
import type { ExportContext, ExportLimits } from '../../exports/plan.js';
import { planExport } from '../../exports/plan.js';
import { parseExportRequest } from '../../exports/request.js';
import { runExport } from '../../exports/run.js';
import { principalOf } from '../auth.js';

export interface ExportRoutesOptions {
  exports: ExportContext;
  /** Sync exports running at once in this process; more get `503 too_busy`. */
  syncConcurrency: number;
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

/**
 * `POST /v1/exports`: small exports stream straight back in the response. Planning and
 * running are the export core's; this route only maps HTTP onto them. The concurrency slot
 * is released in one place, when the export has settled, however it ends.
 */
export async function exportRoutes(app: FastifyInstance, options: ExportRoutesOptions): Promise<void> {
  const context = options.exports;
  let running = 0;

  app.post('/v1/exports', async (request, reply) => {
    const principal = principalOf(request);
    if (!/^application\/([a-z.+-]+\+)?json\b/i.test(request.headers['content-type'] ?? '')) {
      throw new TakeoutError('unsupported_media_type', 'The request body must be application/json');
    }
    const body = parseExportRequest(request.body, context.formats);
    if (running >= options.syncConcurrency) {
      reply.header('retry-after', '5');
      throw new TakeoutError('too_busy', 'Too many exports are running; retry in a few seconds');
    }
    running++;
    let settled: Promise<unknown> = Promise.resolve();
    try {
      // A client that goes away stops the export, whether it is planning or streaming.
      const controller = new AbortController();
      const onClose = () => {
        if (!reply.raw.writableFinished) controller.abort();
      };
      reply.raw.once('close', onClose);
      if (reply.raw.destroyed) controller.abort();
      const plan = await planExport(body, principal, context, { signal: controller.signal });
      try {
        if (!plan.sync.fits) throw tooLarge(context.limits);
        const headers = {
          'content-type': plan.contentType,
          'content-disposition': contentDisposition(plan.filename),
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
        };
        let started: () => void = () => {};
        const sending = new Promise<void>((resolve) => {
          started = resolve;
        });
        const run = runExport(
          plan,
          (bytes) => {
            void reply.headers(headers).send(Readable.from(bytes, { objectMode: false }));
            started();
            return finished(reply.raw);
          },
          {
            signal: controller.signal,
            maxRows: plan.syncCaps.maxRows,
            maxBytes: plan.syncCaps.maxBytes,
          },
        );
        settled = run.catch((error: unknown) => {
          if (reply.sent)
            request.log.warn(
              { code: (error as TakeoutError).code },
              'export stream failed after the response started',
            );
        });
        // Errors before the first byte become a problem response; after it, the stream's.
        await Promise.race([sending, run]);
        return reply;
      } finally {
        await plan.close();
      }
    } finally {
      void settled.finally(() => {
        running--;
      });
    }
  });
}
