import type { FastifyInstance } from 'fastify';
import { type DatasetRegistry, openDatasetSource } from '../../datasets/registry.js';
import { TakeoutError } from '../../errors.js';
import { getFormat } from '../../formats/index.js';
import { prepareExport } from '../../pipeline.js';
import { rowsSource } from '../../sources/rows.js';
import type { ColumnSpec, Source } from '../../types.js';
import type { Authenticate } from '../auth.js';
import { contentDisposition } from '../content-disposition.js';
import { downloadName, parseExportRequest, pickColumns } from '../export-request.js';

export interface ExportRoutesOptions {
  datasets: DatasetRegistry;
  authenticate: Authenticate;
  /** Exports with more rows than this are not streamed in the response. */
  syncMaxRows: number;
}

/** `POST /v1/exports`: small exports stream straight back in the response. */
export async function exportRoutes(app: FastifyInstance, options: ExportRoutesOptions): Promise<void> {
  const { datasets, authenticate, syncMaxRows } = options;

  app.post('/v1/exports', async (request, reply) => {
    const principal = await authenticate(request);
    if (!/^application\/([a-z.+-]+\+)?json\b/i.test(request.headers['content-type'] ?? '')) {
      throw new TakeoutError('unsupported_media_type', 'The request body must be application/json');
    }
    const body = parseExportRequest(request.body);
    const format = getFormat(body.format);

    let source: Source;
    let columns: ColumnSpec[] | undefined;
    let estimated: number | undefined;
    let base = 'export';
    if (body.rows) {
      source = rowsSource(body.rows as never, body.columns ? { columns: body.columns } : {});
      estimated = body.rows.length;
    } else {
      const dataset = datasets.get(body.dataset, principal);
      columns = pickColumns(dataset.columns, body.columns);
      source = await openDatasetSource(dataset, body.params, principal, { estimateCap: syncMaxRows });
      estimated = await source.estimate?.();
      base = dataset.name;
    }
    if (estimated !== undefined && estimated > syncMaxRows) {
      await source.close?.();
      throw new TakeoutError(
        'sync_limit_exceeded',
        `This export has more than ${syncMaxRows} rows, too many to stream in the response; narrow it with params`,
        { details: { limit: syncMaxRows } },
      );
    }

    // A client that goes away stops the export and releases the source.
    const controller = new AbortController();
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) controller.abort();
    });
    const prepared = await prepareExport(source, {
      ...body.options,
      format: format.name,
      ...(columns ? { columns } : {}),
      ...(body.timezone ? { timezone: body.timezone } : {}),
      ...(body.locale ? { locale: body.locale } : {}),
      signal: controller.signal,
      maxRows: syncMaxRows,
    });
    const filename = downloadName(body.filename, base, format.extension);
    prepared.stream.on('error', (error) =>
      request.log.warn({ code: (error as TakeoutError).code }, 'export stream failed'),
    );
    return reply
      .header('content-type', format.contentType)
      .header('content-disposition', contentDisposition(filename))
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff')
      .send(prepared.stream);
  });
}
