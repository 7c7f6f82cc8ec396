import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { DatasetRegistry } from '../datasets/registry.js';
import { TakeoutError } from '../errors.js';
import { formatNames } from '../formats/index.js';
import { type Authenticate, anonymous, requireAuthentication } from './auth.js';
import { problemErrorHandler, sendProblem } from './problem.js';
import { datasetRoutes } from './routes/datasets.js';
import { type ExportLimits, exportRoutes } from './routes/exports.js';

export interface TakeoutServerOptions extends Partial<ExportLimits> {
  datasets: DatasetRegistry;
  authenticate?: Authenticate;
  bodyLimit?: number;
  logger?: FastifyServerOptions['logger'];
  /** Extra plugins (e.g. the signed file route) registered beside the API, without authentication. */
  plugins?: ((app: FastifyInstance) => Promise<void> | void)[];
}

export const DEFAULT_LIMITS: ExportLimits = {
  syncMaxRows: 250_000,
  syncMaxCells: 10_000_000,
  syncConcurrency: 8,
};

/**
 * Registers Takeout's routes on a Fastify instance. Everything lives in an encapsulated
 * scope: the problem+json error handler and the authentication hook apply to Takeout's
 * routes only, never to the host application's.
 */
export async function takeoutRoutes(app: FastifyInstance, options: TakeoutServerOptions): Promise<void> {
  const limits: ExportLimits = {
    syncMaxRows: options.syncMaxRows ?? DEFAULT_LIMITS.syncMaxRows,
    syncMaxCells: options.syncMaxCells ?? DEFAULT_LIMITS.syncMaxCells,
    syncConcurrency: options.syncConcurrency ?? DEFAULT_LIMITS.syncConcurrency,
  };
  await app.register(async (scope) => {
    scope.setErrorHandler(problemErrorHandler);
    await scope.register(async (api) => {
      requireAuthentication(api, options.authenticate ?? anonymous);
      await api.register(exportRoutes, { datasets: options.datasets, ...limits });
      await api.register(datasetRoutes, { datasets: options.datasets });
    });
    scope.get('/healthz', async () => ({ status: 'ok', formats: formatNames() }));
    for (const plugin of options.plugins ?? []) await plugin(scope);
  });
}

/** The standalone HTTP server. */
export async function buildServer(options: TakeoutServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 10 * 1024 * 1024,
    // Ids in logs correlate a request's lines; the header lets a proxy's id win.
    requestIdHeader: 'x-request-id',
  });
  app.setErrorHandler(problemErrorHandler);
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      new TakeoutError('not_found', `No route ${request.method} ${request.url.split('?')[0]}`),
    ),
  );
  await takeoutRoutes(app, options);
  return app;
}
