/**
 * `GET /metrics`: the Prometheus exposition of this process. With `token` it needs
 * `Authorization: Bearer <token>`; without one it is served only where `open` says so (the
 * development mode, or the separate metrics port), and is a plain 404 elsewhere.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { TakeoutError } from '../../errors.js';
import type { TakeoutMetrics } from '../../metrics.js';
import { QUIET_ROUTE } from './health.js';

export interface MetricsRouteOptions {
  metrics: TakeoutMetrics;
  /** `TAKEOUT_METRICS_TOKEN`: the bearer token scrapers send. */
  token?: string | undefined;
  /** Serve without a token (when none is set). */
  open: boolean;
}

const digest = (text: string) => createHash('sha256').update(text).digest();

export async function metricsRoute(app: FastifyInstance, options: MetricsRouteOptions): Promise<void> {
  const expected = options.token === undefined ? undefined : digest(options.token);
  app.get('/metrics', QUIET_ROUTE, async (request, reply) => {
    if (expected) {
      const given = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
      // Digests compare in constant time whatever the lengths.
      if (!given || !timingSafeEqual(digest(given), expected)) {
        throw new TakeoutError('unauthorized', 'The metrics need the TAKEOUT_METRICS_TOKEN bearer token');
      }
    } else if (!options.open) {
      throw new TakeoutError(
        'not_found',
        'No route GET /metrics (set TAKEOUT_METRICS_TOKEN, or scrape TAKEOUT_METRICS_PORT)',
      );
    }
    const { contentType, body } = await options.metrics.scrape();
    return reply.header('cache-control', 'no-store').type(contentType).send(body);
  });
}
