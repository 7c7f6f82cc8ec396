/**
 * The metrics port (`TAKEOUT_METRICS_PORT`): a second, small listener with `/metrics`,
 * `/healthz` and `/readyz` only. A worker has no other HTTP server; an API process can keep
 * its metrics off the public port this way.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { TakeoutError } from '../errors.js';
import type { Service } from '../service.js';
import { answerUnknownRoutes, problemErrorHandler } from './problem.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoute } from './routes/metrics.js';

export interface MetricsServer {
  app: FastifyInstance;
  /** `http://host:port`, the port as bound (for `TAKEOUT_METRICS_PORT=0`). */
  url: string;
  /**
   * The process is shutting down: `/readyz` answers 503 from now on, while `/metrics` and
   * `/healthz` go on answering until the caller closes `app`, after the service.
   */
  markStopping(): void;
}

/**
 * Listens on the service's metrics host and port; the caller closes `app` after the service,
 * so that the shutdown grace (running exports finishing) can be watched.
 * `logger` is the process's (scrubbed) logger: its routes are quiet, so only failed probes and
 * refused scrapes are logged (at `warn`), as on the API port.
 */
export async function startMetricsServer(
  service: Service,
  role: 'api' | 'worker',
  port: number,
  logger: FastifyBaseLogger,
): Promise<MetricsServer> {
  const { host, token } = service.config.metrics;
  const app = Fastify({ loggerInstance: logger });
  app.setErrorHandler(problemErrorHandler);
  answerUnknownRoutes(app);
  let stopping = false;
  await app.register(healthRoutes, {
    readiness: { store: service.jobs.store, queue: service.jobs.queue, storage: service.storage },
    health: () => ({ role, ...(stopping ? { stopping } : {}) }),
    stopping: () => stopping,
  });
  await app.register(metricsRoute, { metrics: service.metrics, token, open: true });
  try {
    await app.listen({ host, port });
  } catch (error) {
    await app.close();
    throw metricsListenError(error, host, port);
  }
  const address = app.server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return {
    app,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    markStopping: () => {
      stopping = true;
    },
  };
}

/** Why the metrics listener could not listen, in the words of the settings that choose where. */
function metricsListenError(error: unknown, host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (code === 'EADDRINUSE')
    return new TakeoutError(
      'config_error',
      `TAKEOUT_METRICS_PORT: ${where} is already in use: stop what listens there, or set another TAKEOUT_METRICS_PORT`,
    );
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME')
    return new TakeoutError(
      'config_error',
      `TAKEOUT_METRICS_HOST ${host} is not an address of this machine (e.g. 127.0.0.1, or 0.0.0.0 for all)`,
    );
  if (code === 'EACCES')
    return new TakeoutError(
      'config_error',
      `TAKEOUT_METRICS_PORT: ${where} needs privileges to listen on: set TAKEOUT_METRICS_PORT above 1023`,
    );
  return error;
}
