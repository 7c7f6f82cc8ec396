import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TakeoutError } from './errors.js';

/**
 * The parsed config file (`TAKEOUT_CONFIG`): `takeout.config.json`, or a `.js`/`.mjs` module
 * whose default export has the same shape. Its `datasets` are read by datasets/config-file.ts,
 * its `tokens` by auth/settings.ts.
 */
export async function readConfigFile(path: string): Promise<unknown> {
  const absolute = resolve(path);
  try {
    return /\.(m?js|cjs)$/.test(absolute)
      ? ((await import(pathToFileURL(absolute).href)) as { default: unknown }).default
      : JSON.parse(await readFile(absolute, 'utf8'));
  } catch (error) {
    throw new TakeoutError(
      'config_error',
      `Cannot read the config file ${path}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}
