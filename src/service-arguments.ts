/**
 * What createService checks of its arguments before it builds anything: JavaScript callers
 * (or a cast) can pass no config, a config missing settings, or keys with typos, which would
 * otherwise fail deep inside with a raw TypeError, or be ignored.
 */
import type { ServiceConfig } from './config.js';
import { TakeoutError } from './errors.js';
import type { ServiceOptions } from './service.js';
import { refuseUnknownOptions } from './unknown-options.js';

/** Every key of `ServiceOptions`: any other is refused (a typo would be ignored without a word). */
const OPTION_NAMES = Object.keys({
  env: true,
  datasets: true,
  formats: true,
  storage: true,
  jobStore: true,
  queue: true,
  log: true,
} satisfies Record<keyof ServiceOptions, true>);

/** Every key of `ServiceConfig` (what `loadConfig` returns): each is needed, no other is known. */
const CONFIG_KEYS = Object.keys({
  host: true,
  port: true,
  dataDir: true,
  bodyLimit: true,
  syncMaxRows: true,
  syncMaxCells: true,
  syncMaxBytes: true,
  pgPoolMax: true,
  syncConcurrency: true,
  syncPerPrincipal: true,
  syncFirstByteTimeoutMs: true,
  syncIdleTimeoutMs: true,
  headersTimeoutMs: true,
  requestTimeoutMs: true,
  configFile: true,
  demo: true,
  apiTokens: true,
  jwt: true,
  rateLimit: true,
  logLevel: true,
  storage: true,
  publicUrl: true,
  secret: true,
  s3Credentials: true,
  s3Region: true,
  sweepIntervalSeconds: true,
  jobs: true,
  xlsxDeflate: true,
  notify: true,
  metrics: true,
} satisfies Record<keyof ServiceConfig, true>);

/**
 * Refuses what JavaScript callers (or a cast) can pass and would otherwise fail deep inside
 * with a raw TypeError, or be ignored: no config, a config missing settings, unknown keys.
 */
export function checkServiceArguments(config: unknown, options: unknown): void {
  if (typeof config !== 'object' || config === null) {
    throw new TakeoutError(
      'config_error',
      'createService needs a config: createService(loadConfig(process.env), options)',
    );
  }
  const missing = CONFIG_KEYS.filter((key) => !(key in config));
  if (missing.length > 0) {
    const more = missing.length > 1 ? ` (nor ${missing.length - 1} other settings)` : '';
    throw new TakeoutError(
      'config_error',
      `createService: the config has no ${missing[0]}${more}; build it with loadConfig(env), then change what you need`,
      { details: { option: missing[0] } },
    );
  }
  refuseUnknownOptions('The config of createService', config, CONFIG_KEYS);
  if (typeof options !== 'object' || options === null) {
    throw new TakeoutError('config_error', 'The options of createService must be an object');
  }
  refuseUnknownOptions('createService', options, OPTION_NAMES);
}
