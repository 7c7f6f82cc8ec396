import type { FastifyInstance } from 'fastify';
import { type DatasetRegistry, openDatasetSource } from '../../datasets/registry.js';
import { TakeoutError } from '../../errors.js';
import { getFormat } from '../../formats/index.js';
import { prepareExport } from '../../pipeline.js';
import { rowsSource } from '../../sources/rows.js';
import type { ColumnSpec, Source } from '../../types.js';
import { principalOf } from '../auth.js';
import { contentDisposition } from '../content-disposition.js';
import { downloadName, parseExportRequest, pickColumns } from '../export-request.js';

export interface ExportLimits {
  /** Exports with more rows than this are not streamed in the response. */
  syncMaxRows: number;
  /** Nor those with more cells (rows × columns): wide rows cost as much as many rows. */
  syncMaxCells: number;
  /** Sync exports running at once in this process; more get `503 too_busy`. */
  syncConcurrency: number;
}

export interface ExportRoutesOptions extends ExportLimits {
  datasets: DatasetRegistry;
}

function tooLarge(limits: ExportLimits): TakeoutError {
  return new TakeoutError(
    'sync_limit_exceeded',
    `This export is too large to stream in the response (at most ${limits.syncMaxRows} rows and ${limits.syncMaxCells} cells); narrow it with params or columns`,
    { details: { limit: limits.syncMaxRows, cellLimit: limits.syncMaxCells } },
  );
}

/** `POST /v1/exports`: small exports stream straight back in the response. */
export async function exportRoutes(app: FastifyInstance, options: ExportRoutesOptions): Promise<void> {
  const { datasets, ...limits } = options;
  let running = 0;

  app.post('/v1/exports', async (request, reply) => {
    const principal = principalOf(request);
    if (!/^application\/([a-z.+-]+\+)?json\b/i.test(request.headers['content-type'] ?? '')) {
      throw new TakeoutError('unsupported_media_type', 'The request body must be application/json');
    }
    const body = parseExportRequest(request.body);
    const format = getFormat(body.format);
    if (running >= limits.syncConcurrency) {
      reply.header('retry-after', '5');
      throw new TakeoutError('too_busy', 'Too many exports are running; retry in a few seconds');
    }

    let source: Source | undefined;
    running++;
    let released = false;
    const release = () => {
      if (!released) running--;
      released = true;
    };
    try {
      let columns: ColumnSpec[] | undefined;
      let estimated: number | undefined;
      let base = 'export';
      if (body.rows) {
        source = rowsSource(body.rows as never, body.columns ? { columns: body.columns } : {});
        estimated = body.rows.length;
      } else {
        const dataset = datasets.get(body.dataset, principal);
        columns = pickColumns(dataset.columns, body.columns);
        source = await openDatasetSource(dataset, body.params, principal, {
          estimateCap: limits.syncMaxRows,
        });
        estimated = await source.estimate?.();
        base = dataset.name;
      }
      if (estimated !== undefined && estimated > limits.syncMaxRows) throw tooLarge(limits);

      // A client that goes away stops the export and releases the source.
      const controller = new AbortController();
      reply.raw.on('close', () => {
        release();
        if (!reply.raw.writableFinished) controller.abort();
      });
      const opened = source;
      source = undefined; // from here on the export owns it and closes it
      const prepared = await prepareExport(opened, {
        ...body.options,
        format: format.name,
        ...(columns ? { columns } : {}),
        ...(body.timezone ? { timezone: body.timezone } : {}),
        ...(body.locale ? { locale: body.locale } : {}),
        signal: controller.signal,
        maxRows: Math.min(
          limits.syncMaxRows,
          Math.floor(limits.syncMaxCells / Math.max(1, (columns ?? []).length)),
        ),
      });
      if ((estimated ?? 0) * prepared.columns.length > limits.syncMaxCells) {
        prepared.stream.destroy();
        throw tooLarge(limits);
      }
      const filename = downloadName(body.filename, base, format.extension);
      prepared.stream.on('error', (error) =>
        request.log.warn(
          { code: (error as TakeoutError).code },
          'export stream failed after the response started',
        ),
      );
      return reply
        .header('content-type', format.contentType)
        .header('content-disposition', contentDisposition(filename))
        .header('cache-control', 'no-store')
        .header('x-content-type-options', 'nosniff')
        .send(prepared.stream);
    } catch (error) {
      release();
      await source?.close?.();
      throw error;
    }
  });
}
