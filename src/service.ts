import { type Authenticate, anonymous, bearerTokens } from './auth.js';
import type { ServiceConfig } from './config.js';
import { loadDatasetsFile } from './datasets/config-file.js';
import type { Dataset } from './datasets/define.js';
import { PostgresPools } from './datasets/pools.js';
import { DatasetRegistry } from './datasets/registry.js';
import { demoOrdersDataset, ensureDemoDatabase } from './demo/orders.js';
import type { ExportContext, ExportLimits } from './exports/plan.js';
import { builtinFormats } from './formats/index.js';
import type { FormatRegistry } from './formats/registry.js';
import { storageAt } from './storage/config.js';
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
  /** Who a request comes from: bearer tokens, or `anonymous` when none are configured. */
  readonly authenticate: Authenticate;
  readonly limits: ExportLimits;
  /** What `planExport` needs, from this service. */
  readonly exports: ExportContext;
  close(): Promise<void>;
}

/** Builds the service's parts from `config`; nothing is listening yet. */
export async function createService(config: ServiceConfig, options: ServiceOptions = {}): Promise<Service> {
  const formats = builtinFormats();
  for (const format of options.formats ?? []) formats.add(format);
  const datasets = new DatasetRegistry(options.datasets);
  if (config.demo) datasets.add(demoOrdersDataset(ensureDemoDatabase(config.dataDir)));
  if (config.configFile)
    for (const dataset of await loadDatasetsFile(config.configFile)) datasets.add(dataset);
  const storage =
    options.storage ??
    (await storageAt(config.storage.location, {
      secret: await loadOrCreateSecret(config.dataDir, { TAKEOUT_SECRET: config.secret }),
      ...(config.publicUrl ? { baseUrl: config.publicUrl } : {}),
      ...(config.s3Credentials ? { credentials: config.s3Credentials } : {}),
      ...(config.s3Region ? { region: config.s3Region } : {}),
    }));
  const pools = new PostgresPools({ max: config.pgPoolMax });
  const limits: ExportLimits = {
    syncMaxRows: config.syncMaxRows,
    syncMaxCells: config.syncMaxCells,
    syncMaxBytes: config.syncMaxBytes,
  };
  let closing: Promise<void> | undefined;
  return {
    config,
    storage,
    datasets,
    formats,
    pools,
    authenticate: config.apiTokens.size > 0 ? bearerTokens(config.apiTokens) : anonymous,
    limits,
    exports: { datasets, formats, limits, pools, env: options.env ?? process.env },
    close() {
      closing ??= (async () => {
        const results = await Promise.allSettled([pools.close(), storage.close()]);
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      })();
      return closing;
    },
  };
}
