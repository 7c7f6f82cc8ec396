/**
 * `/healthz` (the process is alive: no dependency is asked) and `/readyz` (the job store, the
 * queue and the storage answer, each within a short timeout; else `503 not_ready` naming
 * what failed). Both are public, outside the rate limit, and logged only when they fail.
 */
import type { FastifyInstance } from 'fastify';
import { TakeoutError } from '../../errors.js';
import { checkReadiness, type ReadinessTargets } from '../../readiness.js';

export interface HealthRoutesOptions {
  readiness: ReadinessTargets;
  /** Extra members of the `/healthz` answer (the API's sync load). */
  health?: () => Record<string, unknown>;
}

/** Probes run every few seconds: their request lines would drown the log. */
export const QUIET_ROUTE = { logLevel: 'warn' } as const;

export async function healthRoutes(app: FastifyInstance, options: HealthRoutesOptions): Promise<void> {
  app.get('/healthz', QUIET_ROUTE, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { status: 'ok', ...options.health?.() };
  });
  app.get('/readyz', QUIET_ROUTE, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    const { ready, checks, failed } = await checkReadiness(options.readiness);
    if (ready) return { status: 'ready', checks };
    throw new TakeoutError(
      'not_ready',
      `Not ready: ${failed.map((name) => `${name} ${checks[name]}`).join(', ')}`,
      {
        details: { checks, failed },
      },
    );
  });
}
