/**
 * `/healthz` (the process is alive: no dependency is asked) and `/readyz` (the job store, the
 * queue and the storage answer, each within a short timeout; else `503 not_ready` naming
 * what failed). Both are public, outside the rate limit, and logged only when they fail.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TakeoutError } from '../../errors.js';
import { checkReadiness, type ReadinessTargets } from '../../readiness.js';

export interface HealthRoutesOptions {
  readiness: ReadinessTargets;
  /** Extra members of the `/healthz` answer (the API's sync load). */
  health?: () => Record<string, unknown>;
  /** True once the process is shutting down: `/readyz` then fails without asking anything. */
  stopping?: () => boolean;
}

/**
 * Probes and scrapes run every few seconds: their request lines would drown the log. Their
 * failures are still logged, at `warn` (problemErrorHandler asks `isQuietRoute`).
 */
export const QUIET_ROUTE = { logLevel: 'warn', config: { quiet: true } } as const;

/** Whether the request's route is one of the QUIET_ROUTEs. */
export function isQuietRoute(request: FastifyRequest): boolean {
  return (request.routeOptions.config as { quiet?: boolean } | undefined)?.quiet === true;
}

export async function healthRoutes(app: FastifyInstance, options: HealthRoutesOptions): Promise<void> {
  app.get('/healthz', QUIET_ROUTE, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { status: 'ok', ...options.health?.() };
  });
  app.get('/readyz', QUIET_ROUTE, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    if (options.stopping?.()) {
      // Still answering (its running exports finish, its metrics are scraped), taking no work.
      throw new TakeoutError('not_ready', 'Not ready: shutting down', {
        details: { checks: { process: 'stopping' }, failed: ['process'] },
      });
    }
    const { ready, checks, failed, reasons } = await checkReadiness(options.readiness);
    if (ready) return { status: 'ready', checks };
    // The reasons go to the log (problemErrorHandler logs a cause's message), not to the
    // public answer: they name the store's errors.
    const why = failed.map((name) => `${name}: ${reasons[name] ?? checks[name]}`).join('; ');
    throw new TakeoutError(
      'not_ready',
      `Not ready: ${failed.map((name) => `${name} ${checks[name]}`).join(', ')}`,
      {
        details: { checks, failed },
        cause: new Error(why),
      },
    );
  });
}
