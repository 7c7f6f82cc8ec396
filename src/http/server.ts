import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { DatasetRegistry } from '../datasets/registry.js';
import { TakeoutError } from '../errors.js';
import { formatNames } from '../formats/index.js';
import { type Authenticate, anonymous } from './auth.js';
import { problemErrorHandler, sendProblem } from './problem.js';
import { datasetRoutes } from './routes/datasets.js';
import { exportRoutes } from './routes/exports.js';

export interface TakeoutServerOptions {
  datasets: DatasetRegistry;
  authenticate?: Authenticate;
  syncMaxRows?: number;
  bodyLimit?: number;
  logger?: FastifyServerOptions['logger'];
  /** Extra plugins (e.g. the signed file route) registered on the same instance. */
  plugins?: ((app: FastifyInstance) => Promise<void> | void)[];
}

/** Registers Takeout's routes on an existing Fastify instance (embedding in an app's server). */
export async function takeoutRoutes(app: FastifyInstance, options: TakeoutServerOptions): Promise<void> {
  const authenticate = options.authenticate ?? anonymous;
  const syncMaxRows = options.syncMaxRows ?? 250_000;
  app.setErrorHandler(problemErrorHandler);
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      new TakeoutError('not_found', `No route ${request.method} ${request.url.split('?')[0]}`),
    ),
  );
  await app.register(exportRoutes, { datasets: options.datasets, authenticate, syncMaxRows });
  await app.register(datasetRoutes, { datasets: options.datasets, authenticate });
  app.get('/healthz', async () => ({ status: 'ok', formats: formatNames() }));
  for (const plugin of options.plugins ?? []) await plugin(app);
}

/** The standalone HTTP server. */
export async function buildServer(options: TakeoutServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 10 * 1024 * 1024,
    // Ids in logs correlate a request's lines; the header lets a proxy's id win.
    requestIdHeader: 'x-request-id',
  });
  await takeoutRoutes(app, options);
  return app;
}
