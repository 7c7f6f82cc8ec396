import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { PostgresPools } from '../datasets/pools.js';
import type { DatasetRegistry } from '../datasets/registry.js';
import { TakeoutError } from '../errors.js';
import { DEFAULT_EXPORT_LIMITS, type ExportContext, type ExportLimits } from '../exports/plan.js';
import { builtinFormats } from '../formats/index.js';
import type { FormatRegistry } from '../formats/registry.js';
import type { ExportJobs } from '../jobs/exports-api.js';
import type { TakeoutMetrics } from '../metrics.js';
import type { Service } from '../service.js';
import type { Storage } from '../storage/types.js';
import { anonymous, type FastifyAuthenticate, requireAuthentication } from './auth.js';
import { clientErrorHandler } from './client-errors.js';
import { continueWhenBodyIsRead } from './expect-continue.js';
import { LOOPBACK_HOSTS_ONLY, requireLoopbackHost } from './host-check.js';
import { ExportIdLogController } from './jobs/log-export-id.js';
import { exactJsonBodies } from './json-body.js';
import { limitLargeBodies } from './large-bodies.js';
import { openApiDocument } from './openapi/document.js';
import { answerWithProblems, frameworkErrorHandler, problemErrorHandler } from './problem.js';
import { limitPerPrincipal, type RateLimitOptions } from './rate-limit.js';
import { requestId } from './request-id.js';
import { guardRequestTimeouts } from './request-timeouts.js';
import { datasetRoutes } from './routes/datasets.js';
import { exportRoutes } from './routes/exports.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { metricsRoute } from './routes/metrics.js';
import { webhookSecretRoutes } from './routes/webhook-secret.js';
import { SyncSlots } from './sync-slots.js';

/** Limits of the HTTP sync path: the export core's, how many run at once, and how long they may wait. */
export interface HttpLimits extends ExportLimits {
  /** Sync exports running at once in this process; more get `503 too_busy`. */
  syncConcurrency: number;
  /** Sync exports running at once per principal; more get `429 too_many_exports`. */
  syncPerPrincipal: number;
  /** From the request to the file's first byte, ms; then `504 source_timeout`. */
  syncFirstByteTimeoutMs: number;
  /** Longest a response may go without the client taking bytes, ms; then it is cut. */
  syncIdleTimeoutMs: number;
}

/** How long the server waits for a request's headers and for all of it (body included), ms. */
export interface RequestTimeouts {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

/** What route plugins (Takeout's own and extra ones) are given: the service's parts. */
export interface RouteContext {
  exports: ExportContext;
  /** The service's storage, when it has one (jobs and downloads need it). */
  storage: Storage | undefined;
  limits: HttpLimits;
}

export interface TakeoutServerOptions extends Partial<HttpLimits>, Partial<RequestTimeouts> {
  datasets: DatasetRegistry;
  /** Default: a registry of the built-in formats. */
  formats?: FormatRegistry;
  storage?: Storage;
  /**
   * Background exports: with them, exports past the sync limits (or asked for with
   * `Prefer: respond-async`) become jobs, and the job routes are served. Needs `storage`.
   */
  jobs?: ExportJobs;
  /** Lifetime of the download links the job routes mint, seconds. Default 300. */
  linkTtlSeconds?: number;
  /** Shared PostgreSQL pools for datasets; without them each export opens its own client. */
  pools?: PostgresPools;
  /** Where datasets' PostgreSQL `urlEnv` is read. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /**
   * Who a request comes from (throw `unauthorized` when nobody): Takeout's own (bearer tokens,
   * JWTs) or the host app's, which gets the whole Fastify request (what its hooks set on it).
   */
  authenticate?: FastifyAuthenticate;
  /** Requests per window per principal on the API routes (`429 rate_limited` beyond). Default: none. */
  rateLimit?: RateLimitOptions;
  /** Largest request body, bytes (TAKEOUT_BODY_LIMIT). Default 10 MiB, whatever the host app's limit. */
  bodyLimit?: number;
  logger?: FastifyServerOptions['logger'];
  /**
   * Answer only requests whose `Host` is a loopback name with the server's port (DNS rebinding).
   * Default: on when there is no `authenticate` (or it is `anonymous`), the development mode.
   */
  loopbackHostsOnly?: boolean;
  /** Prometheus metrics: `GET /metrics` is served, and sync exports are counted in them. */
  metrics?: TakeoutMetrics;
  /** Bearer token `/metrics` needs; without it `/metrics` is served only in the development mode. */
  metricsToken?: string | undefined;
  /** Extra plugins (e.g. the signed file route) registered beside the API, without authentication. */
  plugins?: ((app: FastifyInstance, context: RouteContext) => Promise<void> | void)[];
  /** `TAKEOUT_WEBHOOK_SECRET`'s secrets: with some, `GET /v1/webhook-secret` gives callers their own. */
  webhookSecrets?: readonly string[];
}

export const DEFAULT_LIMITS: HttpLimits = {
  ...DEFAULT_EXPORT_LIMITS,
  syncConcurrency: 8,
  syncPerPrincipal: 3,
  // Both long enough for a heavy query's first rows and a reader on a slow line (TCP shows a
  // reader's progress only a window at a time); a client that stops reading is cut after it.
  syncFirstByteTimeoutMs: 120_000,
  syncIdleTimeoutMs: 120_000,
};

/** Inline rows make bodies large: the default a host app's Fastify (1 MiB) would cut them at. */
export const DEFAULT_BODY_LIMIT = 10 * 1024 * 1024;

export const DEFAULT_REQUEST_TIMEOUTS: RequestTimeouts = {
  headersTimeoutMs: 30_000,
  requestTimeoutMs: 120_000,
};

/** Server options from a service: its datasets, formats, storage, pools, limits and authentication. */
export function serviceServerOptions(service: Service): TakeoutServerOptions {
  return {
    datasets: service.datasets,
    formats: service.formats,
    storage: service.storage,
    jobs: service.jobs,
    linkTtlSeconds: service.config.storage.linkTtlSeconds,
    pools: service.pools,
    ...(service.exports.env ? { env: service.exports.env } : {}),
    authenticate: service.authenticate,
    ...(service.rateLimit ? { rateLimit: service.rateLimit } : {}),
    metrics: service.metrics,
    metricsToken: service.config.metrics.token,
    ...service.limits,
    syncConcurrency: service.config.syncConcurrency,
    syncPerPrincipal: service.config.syncPerPrincipal,
    syncFirstByteTimeoutMs: service.config.syncFirstByteTimeoutMs,
    syncIdleTimeoutMs: service.config.syncIdleTimeoutMs,
    headersTimeoutMs: service.config.headersTimeoutMs,
    requestTimeoutMs: service.config.requestTimeoutMs,
    bodyLimit: service.config.bodyLimit,
    webhookSecrets: service.config.notify.webhookSecrets,
  };
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Gives every route of the scope that takes a body Takeout's own limit: embedded, the host
 * app's instance limit (Fastify's default 1 MiB) would otherwise apply to inline rows.
 */
function limitBodies(scope: FastifyInstance, bodyLimit: number): void {
  scope.addHook('onRoute', (route) => {
    const methods = [route.method].flat();
    if (methods.some((method) => BODY_METHODS.has(method))) route.bodyLimit ??= bodyLimit;
  });
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
    syncPerPrincipal: options.syncPerPrincipal ?? DEFAULT_LIMITS.syncPerPrincipal,
    syncFirstByteTimeoutMs: options.syncFirstByteTimeoutMs ?? DEFAULT_LIMITS.syncFirstByteTimeoutMs,
    syncIdleTimeoutMs: options.syncIdleTimeoutMs ?? DEFAULT_LIMITS.syncIdleTimeoutMs,
  };
  const { syncConcurrency, syncPerPrincipal, syncFirstByteTimeoutMs, syncIdleTimeoutMs, ...exportLimits } =
    limits;
  const slots = new SyncSlots({ total: syncConcurrency, perPrincipal: syncPerPrincipal });
  // Closing the app stops every sync export and progress stream in flight, so the server can
  // close at once.
  const shutdown = new AbortController();
  app.addHook('preClose', async () => shutdown.abort());
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
    // No answer of Takeout's is to be sniffed into another type (a JSON body read as HTML).
    scope.addHook('onSend', (_request, reply, payload, done) => {
      if (!reply.hasHeader('x-content-type-options')) reply.header('x-content-type-options', 'nosniff');
      done(null, payload);
    });
    exactJsonBodies(scope);
    await scope.register(async (api) => {
      limitBodies(api, options.bodyLimit ?? DEFAULT_BODY_LIMIT);
      requireAuthentication(api, options.authenticate ?? anonymous);
      limitLargeBodies(api);
      if (options.rateLimit && options.rateLimit.max > 0) await limitPerPrincipal(api, options.rateLimit);
      await api.register(exportRoutes, {
        exports: context.exports,
        slots,
        timeouts: { firstByteMs: syncFirstByteTimeoutMs, idleWriteMs: syncIdleTimeoutMs },
        shutdown: shutdown.signal,
        ...(options.jobs ? { jobs: options.jobs } : {}),
        ...(options.metrics ? { metrics: options.metrics } : {}),
      });
      if (options.jobs) {
        if (!options.storage) throw new TakeoutError('config_error', 'Background exports need a storage');
        await api.register(jobRoutes, {
          jobs: options.jobs,
          storage: options.storage,
          linkTtlSeconds: options.linkTtlSeconds ?? 300,
          shutdown: shutdown.signal,
        });
      }
      await api.register(datasetRoutes, { datasets: options.datasets });
      if (options.webhookSecrets?.length) {
        await api.register(webhookSecretRoutes, { secrets: options.webhookSecrets });
      }
    });
    // Wildcard routes of the extra plugins (the signed file route), for the OpenAPI document.
    const wildcards: string[] = [];
    scope.addHook('onRoute', (route) => {
      if (route.url.endsWith('/*')) wildcards.push(route.url.slice(scope.prefix.length, -2));
    });
    let openApi: Record<string, unknown> | undefined;
    // Public like /healthz: a client reads the API's description before it holds a token.
    scope.get('/v1/openapi.json', async () => {
      const filesMount = wildcards[0];
      openApi ??= openApiDocument({
        formats,
        jobs: options.jobs !== undefined,
        metrics: options.metrics !== undefined,
        webhookSecret: (options.webhookSecrets?.length ?? 0) > 0,
        loopbackHostsOnly: scope.hasDecorator(LOOPBACK_HOSTS_ONLY),
        ...(scope.prefix ? { prefix: scope.prefix } : {}),
        ...(filesMount !== undefined ? { filesMount } : {}),
      });
      return openApi;
    });
    await scope.register(healthRoutes, {
      readiness: { store: options.jobs?.store, queue: options.jobs?.queue, storage: options.storage },
      health: () => ({ formats: formats.names(), sync: { running: slots.running, limit: syncConcurrency } }),
    });
    if (options.metrics) {
      options.metrics.observeSync(() => slots.running);
      const anonymousMode = options.authenticate === undefined || options.authenticate === anonymous;
      await scope.register(metricsRoute, {
        metrics: options.metrics,
        token: options.metricsToken,
        open: anonymousMode,
      });
    }
    for (const plugin of options.plugins ?? []) await plugin(scope, context);
  });
}

/** The standalone HTTP server. */
export async function buildServer(options: TakeoutServerOptions): Promise<FastifyInstance> {
  const headersTimeoutMs = options.headersTimeoutMs ?? DEFAULT_REQUEST_TIMEOUTS.headersTimeoutMs;
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUTS.requestTimeoutMs;
  const app = Fastify({
    logger: options.logger ?? false,
    // A client that trickles its headers or body is cut (Node's http server checks both).
    requestTimeout: requestTimeoutMs,
    http: {
      headersTimeout: Math.min(headersTimeoutMs, requestTimeoutMs),
      requestTimeout: requestTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(headersTimeoutMs / 4, 30_000)),
    },
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // Ids in logs correlate a request's lines; a proxy's X-Request-Id wins when it is one.
    requestIdHeader: false,
    genReqId: requestId,
    logController: new ExportIdLogController(),
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
    // A request that reaches a closing server (on a kept-alive connection) gets a problem
    // (answerWithProblems), not Fastify's own JSON; Fastify still closes its connection.
    return503OnClosing: false,
  });
  // `100 Continue` only once a route reads the body: after authentication, not before it.
  continueWhenBodyIsRead(app.server);
  guardRequestTimeouts(app.server, {
    headersTimeoutMs,
    requestTimeoutMs,
    keepAliveTimeoutMs: app.server.keepAliveTimeout,
  });
  answerWithProblems(app);
  const anonymousMode = options.authenticate === undefined || options.authenticate === anonymous;
  if (options.loopbackHostsOnly ?? anonymousMode) requireLoopbackHost(app);
  await takeoutRoutes(app, options);
  return app;
}
