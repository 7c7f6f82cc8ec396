import type { FastifyRequest } from 'fastify';
import { isExportId } from '../../jobs/ids.js';

type BindableLog = FastifyRequest['log'] & { setBindings?: (bindings: Record<string, unknown>) => void };

/**
 * Tags every later line of this request's log (Fastify's "request completed" included: the
 * reply logs through the same child logger) with the export it is about, so `exportId=exp_...`
 * finds a job's whole story across API and worker processes. Only well-formed ids are bound;
 * a logger without pino's `setBindings` (a host's own) is left as it is.
 */
export function logExportId(request: FastifyRequest, id: string): void {
  if (isExportId(id)) (request.log as BindableLog).setBindings?.({ exportId: id });
}
