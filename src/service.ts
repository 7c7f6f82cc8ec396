import type { RateLimitOptions } from './auth/rate-limit.js';
import { authenticatorFrom } from './auth/settings.js';
import { type HashedToken, parseTokenEntries, tokenDigest } from './auth/tokens.js';
import { type Authenticate, anonymous } from './auth.js';
import type { ServiceConfig } from './config.js';
import { readConfigFile } from './config-file.js';
import { loadDatasetsFile } from './datasets/config-file.js';
import type { Dataset } from './datasets/define.js';
import { PostgresPools } from './datasets/pools.js';
import { checkDatasetConnections } from './datasets/preflight.js';
import { DatasetRegistry } from './datasets/registry.js';
import { demoOrdersDataset, ensureDemoDatabase } from './demo/orders.js';
import type { ExportContext, ExportLimits } from './exports/plan.js';
import { builtinFormats } from './formats/index.js';
import type { FormatRegistry } from './formats/registry.js';
import { ExportJobs } from './jobs/exports-api.js';
import type { JobLogger } from './jobs/log.js';
import { openQueue } from './jobs/queue/index.js';
import type { ExportQueue } from './jobs/queue/types.js';
import { openJobStore } from './jobs/store/index.js';
import type { JobStore } from './jobs/types.js';
import type { TakeoutMetrics } from './metrics.js';
import { checkServiceArguments } from './service-arguments.js';
import { storageAt } from './storage/factory.js';
import { loadOrCreateSecret } from './storage/signing.js';
import type { Storage } from './storage/types.js';
import type { FormatWriter } from './types.js';

export interface ServiceOptions {
  /** Where datasets' PostgreSQL `urlEnv` variables are read. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Datasets defined in code, besides the config file's and the demo's. */
  datasets?: Iterable<Dataset>;
  /** Formats besides the built-in ones. */
  formats?: Iterable<FormatWriter>;
  /** A storage to use instead of the one STORAGE_URL describes (tests: `memoryStorage()`). */
  storage?: Storage;
  /** A job store instead of the configured one (DATABASE_URL or SQLite in the data directory). */
  jobStore?: JobStore;
  /** A queue instead of the configured one (BullMQ with REDIS_URL, else embedded). */
  queue?: ExportQueue;
  /** Where workers and the sweeper log (a pino logger fits). Default: silent. */
  log?: JobLogger;
}

/**
 * A running Takeout: everything `takeout serve` and `takeout worker` share, built the same
 * way from one configuration. The service owns its parts and closes them in `close()`.
 */
export interface Service {
  readonly config: ServiceConfig;
  /** Where finished files live (disk or S3, from STORAGE_URL). */
  readonly storage: Storage;
  readonly datasets: DatasetRegistry;
  /** This service's formats: the built-in ones plus `ServiceOptions.formats`. */
  readonly formats: FormatRegistry;
  /** One pool per PostgreSQL connection string, shared by every export. */
  readonly pools: PostgresPools;
  /**
   * Who a request comes from: API tokens (environment and config file) and JWTs, or
   * `anonymous` when none are configured (the development mode).
   */
  readonly authenticate: Authenticate;
  /** The per-principal request limit of the API, undefined when turned off. */
  readonly rateLimit: RateLimitOptions | undefined;
  readonly limits: ExportLimits;
  /** What `planExport` needs, from this service. */
  readonly exports: ExportContext;
  /** Background exports: create, get, list, cancel, remove; start a worker; sweep. */
  readonly jobs: ExportJobs;
  /** This service's Prometheus metrics (docs/operations.md#metrics). */
  readonly metrics: TakeoutMetrics;
  /** Stops the worker (running jobs get TAKEOUT_SHUTDOWN_GRACE, then are handed back) and closes everything. */
  close(): Promise<void>;
}

/**
 * Builds the service's parts from `config`; nothing is listening yet. A missing config, a
 * setting missing from it, or an unknown key in it or in `options` is a `config_error`.
 */
export async function createService(config: ServiceConfig, options: ServiceOptions = {}): Promise<Service> {
  checkServiceArguments(config, options);
  const formats = builtinFormats();
  for (const format of options.formats ?? []) formats.add(format);
  const datasets = new DatasetRegistry(options.datasets);
  if (config.demo) datasets.add(demoOrdersDataset(ensureDemoDatabase(config.dataDir)));
  if (config.configFile) {
    const declared = await loadDatasetsFile(config.configFile);
    checkDatasetConnections(declared, config.configFile, options.env ?? process.env);
    for (const dataset of declared) datasets.add(dataset);
  }
  const storage =
    options.storage ??
    (await storageAt(config.storage.location, {
      // Only disk links are signed by Takeout: S3 deployments need no data directory for it.
      ...(config.storage.location.kind === 'file'
        ? { secret: await loadOrCreateSecret(config.dataDir, { TAKEOUT_SECRET: config.secret }) }
        : {}),
      ...(config.publicUrl ? { baseUrl: config.publicUrl } : {}),
      ...(config.s3Credentials ? { credentials: config.s3Credentials } : {}),
      ...(config.s3Region ? { region: config.s3Region } : {}),
    }));
  const authenticate =
    authenticatorFrom({ tokens: await configuredTokens(config), jwt: config.jwt }) ?? anonymous;
  const rateLimit = await rateLimitOf(config);
  const pools = new PostgresPools({ max: config.pgPoolMax });
  const limits: ExportLimits = {
    syncMaxRows: config.syncMaxRows,
    syncMaxCells: config.syncMaxCells,
    syncMaxBytes: config.syncMaxBytes,
  };
  const exports: ExportContext = { datasets, formats, limits, pools, env: options.env ?? process.env };
  // prom-client is loaded with the service, not with the library.
  const metrics = (await import('./metrics.js')).createMetrics();
  let jobStore: JobStore | undefined;
  let jobs: ExportJobs;
  try {
    jobStore =
      options.jobStore ??
      (await openJobStore({
        databaseUrl: config.jobs.databaseUrl,
        schema: config.jobs.databaseSchema,
        dataDir: config.dataDir,
      }));
    const queue = options.queue ?? (await openQueue(config.jobs, jobStore, options.log));
    metrics.observeJobs(jobStore, queue);
    jobs = new ExportJobs({
      store: jobStore,
      queue,
      metrics,
      storage,
      exports,
      settings: config.jobs,
      fileTtlSeconds: config.storage.fileTtlSeconds,
      notify: config.notify,
      onNotifyFailure: (delivery) => metrics.notificationFailures.inc({ channel: delivery.channel }),
      ...(options.log ? { log: options.log } : {}),
    });
  } catch (error) {
    // A job store or queue that cannot start (bad DATABASE_URL, Redis down) leaves nothing open:
    // the rate limit's Redis client would reconnect forever, and keep the process from exiting.
    rateLimit?.redis?.disconnect();
    await Promise.allSettled([
      options.jobStore ? undefined : jobStore?.close(),
      pools.close(),
      storage.close(),
    ]);
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    config,
    storage,
    datasets,
    formats,
    pools,
    authenticate,
    rateLimit,
    limits,
    exports,
    jobs,
    metrics,
    close() {
      closing ??= (async () => {
        // Jobs first: running exports still use the pools and storage while they finish.
        const stopped = await Promise.allSettled([jobs.close()]);
        const results = await Promise.allSettled([
          pools.close(),
          storage.close(),
          rateLimit?.redis?.quit().catch(() => rateLimit.redis?.disconnect()),
        ]);
        const failed = [...stopped, ...results].find(
          (r): r is PromiseRejectedResult => r.status === 'rejected',
        );
        if (failed) throw failed.reason;
      })();
      return closing;
    },
  };
}

/** API tokens from `TAKEOUT_API_TOKENS` and the config file's `tokens` (SHA-256 digests). */
async function configuredTokens(config: ServiceConfig): Promise<HashedToken[]> {
  const tokens = [...config.apiTokens].map(([token, principal]) => ({
    sha256: tokenDigest(token),
    principal,
  }));
  if (config.configFile) {
    const file = (await readConfigFile(config.configFile)) as { tokens?: unknown } | undefined;
    tokens.push(...parseTokenEntries(file?.tokens, config.configFile));
  }
  return tokens;
}

/** The rate limit's options; its Redis client (with `REDIS_URL`) is the service's to close. */
async function rateLimitOf(config: ServiceConfig): Promise<RateLimitOptions | undefined> {
  const { max, windowMs, redisUrl, keyPrefix } = config.rateLimit;
  if (max === 0) return undefined;
  if (!redisUrl) return { max, windowMs };
  // ioredis is loaded only when Redis is configured.
  const [{ checkRedisDatabase, redisClient }, { watchRedis }] = await Promise.all([
    import('./jobs/queue/redis.js'),
    import('./jobs/queue/redis-watch.js'),
  ]);
  await checkRedisDatabase(redisUrl);
  const redis = redisClient(redisUrl, 'limiter');
  // The limiter's client fails commands at once while it is not connected (requests then go
  // through unlimited): wait briefly for the first connection, so a fresh process limits.
  if (redis.status !== 'ready') {
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        redis.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, 2000);
      redis.once('ready', done);
    });
  }
  const watch = watchRedis(redis);
  return { max, windowMs, keyPrefix, redis, redisAway: () => watch.away };
}
