import { resolve } from 'node:path';
import type { JwtSettings } from './auth/jwt.js';
import { type RateLimitSettings, rateLimitSettingsFromEnv } from './auth/rate-limit.js';
import { jwtSettingsFromEnv } from './auth/settings.js';
import { checkTimerSeconds, durationMs } from './durations.js';
import { wholeNumber } from './env-numbers.js';
import { onOff } from './env-switch.js';
import { TakeoutError } from './errors.js';
import { deflateEngine } from './formats/xlsx/deflate.js';
import { DEFAULT_LEVEL as DEFAULT_XLSX_LEVEL } from './formats/xlsx/options.js';
import { type JobSettings, jobSettingsFromEnv } from './jobs/config.js';
import { type NotifySettings, notifySettingsFromEnv } from './notify/config.js';
import {
  parseDuration,
  regionParam,
  type StorageSettings,
  storageSettingsFromEnv,
} from './storage/config.js';
import { credentialsFromEnv } from './storage/factory.js';
import type { S3StorageOptions } from './storage/s3.js';

/** Settings of the standalone service, from the environment (docs/configuration.md). */
export interface ServiceConfig {
  host: string;
  port: number;
  /** Where Takeout keeps its state (demo database, files, secret). */
  dataDir: string;
  /** Largest request body in bytes (inline rows). */
  bodyLimit: number;
  /** Exports with more rows than this are not streamed in the response. */
  syncMaxRows: number;
  /** Nor those with more cells (rows × columns). */
  syncMaxCells: number;
  /** Nor those larger than this many bytes. */
  syncMaxBytes: number;
  /** Connections per PostgreSQL pool (one pool per connection string). */
  pgPoolMax: number;
  /** Sync exports running at once; more get `503 too_busy`. */
  syncConcurrency: number;
  /** Sync exports running at once per principal; more get `429 too_many_exports`. */
  syncPerPrincipal: number;
  /** From a sync request to the file's first byte, ms. */
  syncFirstByteTimeoutMs: number;
  /** Longest a sync response may go without the client taking bytes, ms. */
  syncIdleTimeoutMs: number;
  /** Time a client has to send its request headers, ms. */
  headersTimeoutMs: number;
  /** ... and its whole request, body included, ms. */
  requestTimeoutMs: number;
  /** A dataset config file (takeout.config.json / .js). */
  configFile: string | undefined;
  /** Create and offer the demo `orders` dataset. */
  demo: boolean;
  /** `token=user[:tenant]` pairs; empty means no authentication (every caller is `anonymous`). */
  apiTokens: Map<string, { id: string; tenant?: string }>;
  /** JWT bearer tokens (`TAKEOUT_JWT_*`); undefined: none. */
  jwt: JwtSettings | undefined;
  /** Requests per window per principal (`TAKEOUT_RATE_LIMIT`, `TAKEOUT_RATE_LIMIT_WINDOW`, `REDIS_URL`). */
  rateLimit: RateLimitSettings;
  logLevel: string;
  /** Where files go and how long links and files live (STORAGE_URL, TAKEOUT_LINK_TTL, TAKEOUT_FILE_TTL). */
  storage: StorageSettings;
  /** Public origin put in front of disk download links; default: links relative to the server. */
  publicUrl: string | undefined;
  /** `TAKEOUT_SECRET`: the link signing secret; undefined = the one kept in the data directory. */
  secret: string | undefined;
  /** Static S3 credentials (AWS_ACCESS_KEY_ID ...); undefined = the SDK's own chain. */
  s3Credentials: S3StorageOptions['credentials'] | undefined;
  /** S3 region when STORAGE_URL names none (AWS_REGION, AWS_DEFAULT_REGION). */
  s3Region: string | undefined;
  /** How often the sweeper deletes files whose retention ended, seconds; 0 turns it off. */
  sweepIntervalSeconds: number;
  /** Background jobs: job store, queue, workers and limits (docs/jobs.md). */
  jobs: JobSettings;
  /**
   * What deflates XLSX sheets at the default level (`TAKEOUT_XLSX_DEFLATE`, checked here):
   * `isal` when the optional addon is installed, else `zlib` (docs/xlsx.md#compression).
   */
  xlsxDeflate: 'isal' | 'zlib';
  /** Webhooks and email when exports finish (docs/notifications.md). */
  notify: NotifySettings;
  /** Metrics and probes (docs/operations.md#metrics). */
  metrics: MetricsSettings;
}

export interface MetricsSettings {
  /** `TAKEOUT_METRICS_PORT`: a second listener with /metrics, /healthz and /readyz only. */
  port: number | undefined;
  /** `TAKEOUT_METRICS_HOST`: its address. */
  host: string;
  /** `TAKEOUT_METRICS_TOKEN`: the bearer token `/metrics` needs (on every listener). */
  token: string | undefined;
}

function metricsSettings(env: NodeJS.ProcessEnv): MetricsSettings {
  const token = env.TAKEOUT_METRICS_TOKEN || undefined;
  if (token !== undefined && token.length < 16) {
    throw new TakeoutError('config_error', 'TAKEOUT_METRICS_TOKEN must be at least 16 characters');
  }
  return {
    port: env.TAKEOUT_METRICS_PORT ? integer(env, 'TAKEOUT_METRICS_PORT', 0, 0, 65535) : undefined,
    host: env.TAKEOUT_METRICS_HOST || '127.0.0.1',
    token,
  };
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = wholeNumber(raw) ?? Number.NaN;
  if (!(n >= min && n <= max)) {
    throw new TakeoutError('config_error', `${name} must be an integer from ${min} to ${max}`);
  }
  return n;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Checked here: pino would refuse an unknown level only once the service has started. */
function logLevel(raw: string | undefined): string {
  const level = raw?.trim().toLowerCase() || 'info';
  if (!LOG_LEVELS.includes(level)) {
    throw new TakeoutError('config_error', `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  }
  return level;
}

function parseTokens(raw: string | undefined): ServiceConfig['apiTokens'] {
  const tokens = new Map<string, { id: string; tenant?: string }>();
  for (const entry of (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    // The last `=` separates: base64 tokens may end in `=` padding.
    const eq = entry.lastIndexOf('=');
    const token = entry.slice(0, eq);
    const parts = entry.slice(eq + 1).split(':');
    const [id, tenant] = parts;
    // `user:acme:globex` or `user:` named another principal than meant: refused, never cut.
    if (eq < 16 || !id || parts.length > 2 || (parts.length === 2 && !tenant)) {
      throw new TakeoutError(
        'config_error',
        'TAKEOUT_API_TOKENS entries are token=user[:tenant] with tokens of 16+ characters (one ":" at most, and a tenant after it)',
      );
    }
    tokens.set(token, tenant ? { id, tenant } : { id });
  }
  return tokens;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const configFile = env.TAKEOUT_CONFIG || undefined;
  const dataDir = resolve(env.TAKEOUT_DATA_DIR || 'data');
  const storage = storageSettingsFromEnv(env, { dataDir });
  const s3Region = env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
  // Only S3 reads it: another tool's odd AWS_REGION need not stop a disk deployment.
  if (storage.location.kind === 's3')
    regionParam(s3Region, env.AWS_REGION ? 'AWS_REGION' : 'AWS_DEFAULT_REGION');
  return {
    host: env.HOST || '127.0.0.1',
    port: integer(env, 'PORT', 3000, 0, 65535),
    dataDir,
    bodyLimit: integer(env, 'TAKEOUT_BODY_LIMIT', 10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    syncMaxRows: integer(env, 'TAKEOUT_SYNC_MAX_ROWS', 250_000, 1, Number.MAX_SAFE_INTEGER),
    syncMaxCells: integer(env, 'TAKEOUT_SYNC_MAX_CELLS', 10_000_000, 1, Number.MAX_SAFE_INTEGER),
    syncMaxBytes: integer(env, 'TAKEOUT_SYNC_MAX_BYTES', 1024 ** 3, 1, Number.MAX_SAFE_INTEGER),
    syncConcurrency: integer(env, 'TAKEOUT_SYNC_CONCURRENCY', 8, 1, 10_000),
    syncPerPrincipal: integer(env, 'TAKEOUT_SYNC_PER_PRINCIPAL', 3, 1, 10_000),
    syncFirstByteTimeoutMs: durationMs(env, 'TAKEOUT_SYNC_FIRST_BYTE_TIMEOUT', 120_000, 100),
    syncIdleTimeoutMs: durationMs(env, 'TAKEOUT_SYNC_IDLE_TIMEOUT', 120_000, 100),
    headersTimeoutMs: durationMs(env, 'TAKEOUT_HEADERS_TIMEOUT', 30_000, 100),
    requestTimeoutMs: durationMs(env, 'TAKEOUT_REQUEST_TIMEOUT', 120_000, 100),
    pgPoolMax: integer(env, 'TAKEOUT_PG_POOL_MAX', 10, 1, 1000),
    configFile,
    demo: onOff(env, 'TAKEOUT_DEMO', !configFile),
    apiTokens: parseTokens(env.TAKEOUT_API_TOKENS),
    jwt: jwtSettingsFromEnv(env),
    rateLimit: rateLimitSettingsFromEnv(env),
    logLevel: logLevel(env.LOG_LEVEL),
    storage,
    publicUrl: env.TAKEOUT_PUBLIC_URL || undefined,
    secret: env.TAKEOUT_SECRET || undefined,
    s3Credentials: credentialsFromEnv(env),
    s3Region,
    sweepIntervalSeconds: env.TAKEOUT_SWEEP_INTERVAL
      ? checkTimerSeconds(
          parseDuration(env.TAKEOUT_SWEEP_INTERVAL, 'TAKEOUT_SWEEP_INTERVAL'),
          'TAKEOUT_SWEEP_INTERVAL',
        )
      : 600,
    jobs: jobSettingsFromEnv(env),
    xlsxDeflate: deflateEngine(DEFAULT_XLSX_LEVEL, env).name,
    notify: notifySettingsFromEnv(env),
    metrics: metricsSettings(env),
  };
}
