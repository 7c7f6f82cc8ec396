import type { FastifyInstance } from 'fastify';
import { anonymous } from '../auth.js';
import { loadConfig, type ServiceConfig } from '../config.js';
import { TakeoutError } from '../errors.js';
import { warnIfIsalBroken } from '../formats/xlsx/deflate.js';
import { startMetricsServer } from '../http/metrics-server.js';
import { filesRoutes } from '../http/routes/files.js';
import { pageRoutes } from '../http/routes/page.js';
import { buildServer, serviceServerOptions } from '../http/server.js';
import type { JobLogger } from '../jobs/log.js';
import { loggerOptions } from '../logging.js';
import { createService } from '../service.js';
import { isServedStorage } from '../storage/types.js';
import { exitIfStillRunning, shutdownLimitMs } from './exit-timer.js';
import { onShutdownSignals } from './shutdown-signals.js';
import { configWarnings, deploymentOf } from './start-lines.js';
import { scheduleSweeper } from './sweeper-schedule.js';
import { type CliIo, unknownArgument } from './usage.js';

export const SERVE_USAGE = `Usage: takeout serve [--insecure-no-auth]

Serves the HTTP API. Without authentication it runs in local development mode (every caller
is "anonymous") on a loopback address only; --insecure-no-auth allows any HOST anyway.
Settings come from the environment (docs/configuration.md):
  HOST, PORT                 where to listen (default 127.0.0.1:3000)
  TAKEOUT_DATA_DIR           state directory (default ./data)
  TAKEOUT_CONFIG             dataset config file (takeout.config.json or .js)
  TAKEOUT_DEMO               offer the demo "orders" dataset (default: on without TAKEOUT_CONFIG)
  TAKEOUT_API_TOKENS         token=user[:tenant],... (default: no authentication)
  TAKEOUT_JWT_SECRET | TAKEOUT_JWT_JWKS_URL, TAKEOUT_JWT_ISSUER, TAKEOUT_JWT_AUDIENCE
                             JWT bearer tokens (HS256 secret, or RS256/ES256 keys of the issuer)
  TAKEOUT_JWT_TENANT_CLAIM   claim that names the tenant (default: none)
  TAKEOUT_RATE_LIMIT, TAKEOUT_RATE_LIMIT_WINDOW   requests per principal (default 600 per 1m; 0 = off)
  TAKEOUT_SYNC_MAX_ROWS      largest export streamed in a response (default 250000)
  TAKEOUT_SYNC_MAX_CELLS     ... in cells, rows x columns (default 10000000)
  TAKEOUT_SYNC_MAX_BYTES     ... in bytes (default 1 GiB)
  TAKEOUT_SYNC_CONCURRENCY   sync exports at once; more get 503 (default 8)
  TAKEOUT_SYNC_PER_PRINCIPAL ... per caller; more get 429 (default 3)
  TAKEOUT_SYNC_FIRST_BYTE_TIMEOUT  request to first byte of a sync export (default 120 s)
  TAKEOUT_SYNC_IDLE_TIMEOUT  a sync response the client stops reading is cut (default 120 s)
  TAKEOUT_HEADERS_TIMEOUT, TAKEOUT_REQUEST_TIMEOUT  to send headers / the whole request (30 s, 120 s)
  TAKEOUT_PG_POOL_MAX        connections per PostgreSQL pool (default 10)
  TAKEOUT_BODY_LIMIT         largest request body in bytes (default 10 MiB)
  STORAGE_URL                <TAKEOUT_DATA_DIR>/files (default) or s3://bucket/prefix?region=... (docs/storage.md)
  TAKEOUT_LINK_TTL, TAKEOUT_FILE_TTL   download link and file lifetimes (default 300 s, 24h)
  TAKEOUT_SWEEP_INTERVAL     how often expired files and old job records are deleted (default 10m; 0 = never)
  TAKEOUT_WORKERS            background exports run at once in this process (default 2; 0 = none here)
  DATABASE_URL               postgres://... job store (default: SQLite in TAKEOUT_DATA_DIR)
  REDIS_URL                  redis://... BullMQ queue (default: the embedded queue)
  TAKEOUT_JOB_*, TAKEOUT_SHUTDOWN_GRACE, TAKEOUT_RECORD_TTL   job limits (docs/jobs.md)
  TAKEOUT_PUBLIC_URL         origin put in front of disk download links (default: relative links)
  TAKEOUT_WEBHOOK_URL, TAKEOUT_WEBHOOK_SECRET, TAKEOUT_WEBHOOK_ALLOW, SMTP_URL, TAKEOUT_MAIL_ALLOW, TAKEOUT_MAIL_FROM,
  TAKEOUT_NOTIFY_*           webhooks and email when exports finish (docs/notifications.md)
  TAKEOUT_METRICS_TOKEN      bearer token of GET /metrics (default: /metrics only in development mode)
  TAKEOUT_METRICS_PORT, TAKEOUT_METRICS_HOST   a second listener with /metrics, /healthz, /readyz
  LOG_LEVEL                  fatal|error|warn|info|debug (default info)`;

/** Addresses of this machine's loopback interface, as HOST may name them. */
export function isLoopbackAddress(host: string): boolean {
  return /^(127(\.\d{1,3}){3}|::1|\[::1\]|localhost)$/i.test(host);
}

export interface StartOptions {
  /** Serve a non-loopback HOST without authentication (`--insecure-no-auth`). */
  insecureNoAuth?: boolean;
}

/**
 * Builds the service from `config` and serves its HTTP API; closing the app closes the service.
 * Without authentication it is the local development mode: loopback addresses only (any other
 * HOST is refused unless `insecureNoAuth`), and only loopback `Host` names are answered.
 */
export async function startService(
  config: ServiceConfig,
  env: NodeJS.ProcessEnv = process.env,
  options: StartOptions = {},
) {
  // Workers log through the server's logger once it exists.
  let app: FastifyInstance | undefined;
  // Lines logged while the service starts (e.g. the Redis eviction-policy warning) wait for it.
  const early: [level: 'info' | 'warn' | 'error', Record<string, unknown>, string][] = [];
  const line = (level: 'info' | 'warn' | 'error') => (details: Record<string, unknown>, message: string) => {
    if (app) app.log[level](details, message);
    else early.push([level, details, message]);
  };
  const log: JobLogger = { info: line('info'), warn: line('warn'), error: line('error') };
  const service = await createService(config, { env, log });
  const { storage } = service;
  const devMode = service.authenticate === anonymous;
  const loopback = isLoopbackAddress(config.host);
  if (devMode && !loopback && !options.insecureNoAuth) {
    await service.close();
    throw new TakeoutError(
      'config_error',
      `Refusing to serve ${config.host} without authentication: set TAKEOUT_API_TOKENS, tokens in the config file or TAKEOUT_JWT_*, or listen on 127.0.0.1 (or pass --insecure-no-auth)`,
    );
  }
  try {
    app = await buildServer({
      ...serviceServerOptions(service),
      loopbackHostsOnly: devMode && loopback,
      logger: {
        // Every line is scrubbed of secrets (src/logging.ts).
        ...loggerOptions(config.logLevel, env, process.stdout),
        // A signed link in a log line would be a working download link for whoever reads logs.
        serializers: {
          req: (req: { method: string; url: string; ip?: string }) => ({
            method: req.method,
            url: req.url.replace(/([?&]sig=)[^&]*/, '$1[redacted]'),
            remoteAddress: req.ip,
          }),
        },
      },
      plugins: [
        // The export page at `/` (web/).
        async (app) => {
          await app.register(pageRoutes);
        },
        // Disk and memory links are served by Takeout itself; S3 serves its own.
        ...(isServedStorage(storage)
          ? [
              async (app: FastifyInstance) => {
                await app.register(filesRoutes, { storage });
              },
            ]
          : []),
      ],
    });
  } catch (error) {
    await service.close();
    throw error;
  }
  for (const [level, details, message] of early.splice(0)) app.log[level](details, message);
  const stopSweeper = scheduleSweeper(service, config.sweepIntervalSeconds, config.jobs.timeoutMs, log);
  let metricsServer: Awaited<ReturnType<typeof startMetricsServer>> | undefined;
  if (config.metrics.port !== undefined) {
    try {
      metricsServer = await startMetricsServer(service, 'api', config.metrics.port, app.log);
    } catch (error) {
      stopSweeper();
      await app.close();
      throw error;
    }
  }
  // The metrics port outlives the API's: it answers (`/readyz` 503) while jobs finish.
  app.addHook('preClose', async () => {
    metricsServer?.markStopping();
  });
  app.addHook('onClose', async () => {
    stopSweeper();
    try {
      await service.close();
    } finally {
      await metricsServer?.app.close();
    }
  });
  if (config.jobs.workers > 0) {
    try {
      await service.jobs.startWorker();
    } catch (error) {
      await app.close();
      throw error;
    }
  }
  if (devMode) {
    app.log.warn(
      loopback
        ? 'Local development mode: no authentication is configured, every caller is "anonymous", and only loopback Host names are served'
        : `INSECURE: serving ${config.host} without authentication (--insecure-no-auth): anyone who reaches it is "anonymous"`,
    );
  }
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    // The workers, sweeper and pools started above would keep the process up for ever.
    await app.close();
    throw listenError(error, config, metricsServer && Number(new URL(metricsServer.url).port));
  }
  app.log.info(
    { ...deploymentOf(config, service), xlsxDeflate: config.xlsxDeflate },
    'takeout serve is running',
  );
  for (const warning of configWarnings(config, service, env, 'serve')) app.log.warn(warning);
  warnIfIsalBroken(app.log);
  return Object.assign(app, {
    developmentMode: devMode,
    metricsUrl: metricsServer?.url,
    /** Ends the shutdown grace of a close under way: running jobs are handed back now. */
    endShutdownGrace: () => service.jobs.endShutdownGrace(),
  });
}

/** Why the API could not listen, in the words of the settings that choose where. */
function listenError(error: unknown, config: ServiceConfig, metricsPort?: number): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
  // The metrics listener starts first: it is what took the port.
  if (code === 'EADDRINUSE' && metricsPort === config.port)
    return new TakeoutError(
      'config_error',
      `TAKEOUT_METRICS_PORT ${config.port} is PORT too: give the metrics listener another port`,
    );
  if (code === 'EADDRINUSE')
    return new TakeoutError(
      'config_error',
      `${where} is already in use: stop what listens there, or set PORT`,
    );
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
    return new TakeoutError('config_error', `HOST ${config.host} is not an address of this machine`);
  if (code === 'EACCES')
    return new TakeoutError('config_error', `${where} needs privileges to listen on: set PORT above 1023`);
  return error;
}

function modeNote(developmentMode: boolean, host: string): string {
  if (!developmentMode) return '';
  return isLoopbackAddress(host)
    ? '\nLOCAL DEVELOPMENT MODE: no authentication; every caller is "anonymous". Configure tokens or JWTs (docs/configuration.md) before serving other machines.'
    : '\nINSECURE: no authentication (--insecure-no-auth); anyone who reaches this address is "anonymous".';
}

/** A first request that works here: the demo export, or the datasets list; with a token where one is needed. */
export function tryCommand(base: string, demo: boolean, developmentMode: boolean): string {
  const auth = developmentMode ? '' : ` -H "authorization: Bearer $TOKEN"`;
  if (!demo) return `curl ${base}/v1/datasets${auth}`;
  return `curl -OJ -X POST ${base}/v1/exports${auth} -H 'content-type: application/json' -d '{"dataset":"orders","format":"csv","params":{"country":"DE"}}'`;
}

export async function serveCommand(argv: string[], io: CliIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(`${SERVE_USAGE}\n`);
    return 0;
  }
  const unknown = argv.find((arg) => arg !== '--insecure-no-auth');
  if (unknown !== undefined) throw unknownArgument(unknown, 'serve');
  const config = loadConfig(io.env);
  const app = await startService(config, io.env, { insecureNoAuth: argv.includes('--insecure-no-auth') });

  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const base = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  io.stderr.write(
    `Takeout is serving ${base}${app.metricsUrl ? `\nMetrics and probes: ${app.metricsUrl}/metrics` : ''}${modeNote(app.developmentMode, config.host)}\nExport page: ${base}/\nTry: ${tryCommand(base, config.demo, app.developmentMode)}\n`,
  );
  await new Promise<void>((resolve) => {
    const stopListening = onShutdownSignals(
      {
        stop: (signal) => {
          // The grace is for the jobs this process runs: without workers there are none.
          const grace = config.jobs.workers > 0 ? { graceMs: config.jobs.shutdownGraceMs } : {};
          app.log.info({ signal, ...grace }, 'shutting down');
          // Closing aborts the sync exports in flight, hands running jobs back after their
          // grace and ends the pools; should anything still hold the process after that, it
          // exits anyway (the timer itself holds nothing).
          exitIfStillRunning(shutdownLimitMs(config), app.log);
          void app
            .close()
            .catch((error: unknown) => app.log.error({ err: error }, 'shutdown failed'))
            .then(() => {
              stopListening();
              resolve();
            });
        },
        hurry: () => {
          exitIfStillRunning(shutdownLimitMs(config, { graceEnded: true }), app.log);
          app.endShutdownGrace();
        },
      },
      app.log,
    );
  });
  return 0;
}
