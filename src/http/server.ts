import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { PostgresPools } from '../datasets/pools.js';
import type { DatasetRegistry } from '../datasets/registry.js';
import { TakeoutError } from '../errors.js';
import { DEFAULT_EXPORT_LIMITS, type ExportContext, type ExportLimits } from '../exports/plan.js';
import { builtinFormats } from '../formats/index.js';
import type { FormatRegistry } from '../formats/registry.js';
import type { Service } from '../service.js';
import type { Storage } from '../storage/types.js';
import { type Authenticate, anonymous, requireAuthentication } from './auth.js';
import { requireLoopbackHost } from './host-check.js';
import { problemErrorHandler, sendProblem } from './problem.js';
import { datasetRoutes } from './routes/datasets.js';
import { exportRoutes } from './routes/exports.js';

/** Limits of the HTTP sync path: the export core's, plus how many run at once. */
export interface HttpLimits extends ExportLimits {
  /** Sync exports running at once in this process; more get `503 too_busy`. */
  syncConcurrency: number;
}

/** What route plugins (Takeout's own and extra ones) are given: the service's parts. */
export interface RouteContext {
  exports: ExportContext;
  /** The service's storage, when it has one (jobs and downloads need it). */
  storage: Storage | undefined;
  limits: HttpLimits;
}

export interface TakeoutServerOptions extends Partial<HttpLimits> {
  datasets: DatasetRegistry;
  /** Default: a registry of the built-in formats. */
  formats?: FormatRegistry;
  storage?: Storage;
  /** Shared PostgreSQL pools for datasets; without them each export opens its own client. */
  pools?: PostgresPools;
  /** Where datasets' PostgreSQL `urlEnv` is read. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  authenticate?: Authenticate;
  bodyLimit?: number;
  logger?: FastifyServerOptions['logger'];
  /**
   * Answer only requests whose `Host` is a loopback name with the server's port (DNS rebinding).
   * Default: on when there is no `authenticate` (or it is `anonymous`), the development mode.
   */
  loopbackHostsOnly?: boolean;
  /** Extra plugins (e.g. the signed file route) registered beside the API, without authentication. */
  plugins?: ((app: FastifyInstance, context: RouteContext) => Promise<void> | void)[];
}

export const DEFAULT_LIMITS: HttpLimits = { ...DEFAULT_EXPORT_LIMITS, syncConcurrency: 8 };

/** Server options from a service: its datasets, formats, storage, pools, limits and authentication. */
export function serviceServerOptions(service: Service): TakeoutServerOptions {
  return {
    datasets: service.datasets,
    formats: service.formats,
    storage: service.storage,
    pools: service.pools,
    ...(service.exports.env ? { env: service.exports.env } : {}),
    authenticate: service.authenticate,
    ...service.limits,
    syncConcurrency: service.config.syncConcurrency,
    bodyLimit: service.config.bodyLimit,
  };
}

/**
 * Registers Takeout's routes on a Fastify instance. Everything lives in an encapsulated
 * scope: the problem+json error handler and the authentication hook apply to Takeout's
 * routes only, never to the host application's.
 */
export async function takeoutRoutes(app: FastifyInstance, options: TakeoutServerOptions): Promise<void> {
  const limits: HttpLimits = {
    syncMaxRows: options.syncMaxRows ?? DEFAULT_LIMITS.syncMaxRows,
    syncMaxCells: options.syncMaxCells ?? DEFAULT_LIMITS.syncMaxCells,
    syncMaxBytes: options.syncMaxBytes ?? DEFAULT_LIMITS.syncMaxBytes,
    syncConcurrency: options.syncConcurrency ?? DEFAULT_LIMITS.syncConcurrency,
  };
  const { syncConcurrency, ...exportLimits } = limits;
  const formats = options.formats ?? builtinFormats();
  const context: RouteContext = {
    exports: {
      datasets: options.datasets,
      formats,
      limits: exportLimits,
      pools: options.pools,
      env: options.env,
    },
    storage: options.storage,
    limits,
  };
  await app.register(async (scope) => {
    scope.setErrorHandler(problemErrorHandler);
    await scope.register(async (api) => {
      requireAuthentication(api, options.authenticate ?? anonymous);
      await api.register(exportRoutes, { exports: context.exports, syncConcurrency });
      await api.register(datasetRoutes, { datasets: options.datasets });
    });
    scope.get('/healthz', async () => ({ status: 'ok', formats: formats.names() }));
    for (const plugin of options.plugins ?? []) await plugin(scope, context);
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
  const anonymousMode = options.authenticate === undefined || options.authenticate === anonymous;
  if (options.loopbackHostsOnly ?? anonymousMode) requireLoopbackHost(app);
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      new TakeoutError('not_found', `No route ${request.method} ${request.url.split('?')[0]}`),
    ),
  );
  await takeoutRoutes(app, options);
  return app;
}
