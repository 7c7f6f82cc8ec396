import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { isExportId } from '../../jobs/ids.js';

type BindableLog = FastifyRequest['log'] & {
  setBindings?: (bindings: Record<string, unknown>) => void;
  bindings?: () => Record<string, unknown>;
};

/**
 * Tags every later line of this request's log (Fastify's "request completed" included: the
 * reply logs through the same child logger) with the export it is about, so `exportId=exp_...`
 * finds a job's whole story across API and worker processes. Only well-formed ids are bound,
 * once; a logger without pino's `setBindings` (a host's own) is left as it is.
 */
export function logExportId(request: FastifyRequest, id: string): void {
  if (!isExportId(id)) return;
  const log = request.log as BindableLog;
  if (log.bindings?.().exportId === id) return;
  log.setBindings?.({ exportId: id });
}

/**
 * The standalone server's request logging: its "incoming request" line, which Fastify writes
 * before any hook runs, names the export of a `/v1/exports/{id}` route too.
 */
export class ExportIdLogController extends LogController {
  override incomingRequest(
    request: FastifyRequest,
    reply: FastifyReply,
    metadata?: Record<string, unknown>,
  ): void {
    const { id } = (request.params ?? {}) as { id?: unknown };
    if (typeof id === 'string' && request.routeOptions.url?.includes('/exports/:id'))
      logExportId(request, id);
    super.incomingRequest(request, reply, metadata);
  }
}
