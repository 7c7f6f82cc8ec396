/**
 * Storage drivers from their configuration: `STORAGE_URL` (or its parsed location) and the
 * secret, base URL, region and credentials beside it. The AWS SDK is loaded only for `s3://`.
 */
import { TakeoutError } from '../errors.js';
import { refuseUnknownOptions } from '../unknown-options.js';
import {
  parseStorageUrl,
  type StorageFactoryOptions,
  type StorageLocation,
  type StorageUrlContext,
} from './config.js';
import { diskStorage } from './disk.js';
import type { S3StorageOptions } from './s3.js';
import type { Storage } from './types.js';

/** Every key of `StorageFactoryOptions`: any other is refused (a typo would be ignored). */
const FACTORY_OPTIONS = Object.keys({
  dataDir: true,
  cwd: true,
  secret: true,
  baseUrl: true,
  credentials: true,
  region: true,
} satisfies Record<keyof StorageFactoryOptions, true>);

/**
 * Builds the driver for `STORAGE_URL`. The AWS SDK is loaded only for `s3://`. Async even for
 * a malformed URL: it rejects, never throws, so `.catch()` sees every failure.
 */
export async function storageFromUrl(
  url: string | undefined,
  options: StorageFactoryOptions,
): Promise<Storage> {
  checkFactoryOptions(options);
  return storageAt(parseStorageUrl(url, options), options);
}

/**
 * What JavaScript callers (or a cast) can get wrong: no options object, which used to fail as
 * a raw TypeError, an unknown key, or no `dataDir` where the default location needs one.
 */
function checkFactoryOptions(options: unknown): asserts options is StorageFactoryOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TakeoutError(
      'config_error',
      "storageFromUrl needs an options object: { dataDir, secret } for file: storage (dataDir is Takeout's data directory)",
    );
  }
  refuseUnknownOptions('storageFromUrl', options, FACTORY_OPTIONS);
  const { dataDir } = options as { dataDir?: unknown };
  if (typeof dataDir !== 'string' || dataDir === '') {
    throw new TakeoutError(
      'config_error',
      "storageFromUrl's dataDir must be a directory path (Takeout's data directory; files go under <dataDir>/files when the URL is empty)",
      { details: { option: 'dataDir' } },
    );
  }
}

/** Builds the driver for an already parsed location (`ServiceConfig.storage.location`). */
export async function storageAt(
  location: StorageLocation,
  options: Omit<StorageFactoryOptions, keyof StorageUrlContext>,
): Promise<Storage> {
  if (location.kind === 'file') {
    if (!options.secret) throw new TakeoutError('config_error', 'Disk storage needs a signing secret');
    return diskStorage({
      root: location.root,
      secret: options.secret,
      ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
    });
  }
  const { kind: _kind, ...s3Options } = location;
  const { s3Storage } = await import('./s3.js');
  return s3Storage({
    ...(options.region ? { region: options.region } : {}),
    ...s3Options,
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
}

/** Static credentials from an environment other than `process.env` (the SDK chain reads only that). */
export function credentialsFromEnv(env: NodeJS.ProcessEnv): S3StorageOptions['credentials'] | undefined {
  if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) return undefined;
  return {
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
  };
}
