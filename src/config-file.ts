import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TakeoutError } from './errors.js';

/** The config file's top-level keys; any other is a mistake (a misspelt `tokens` would drop them). */
export const CONFIG_FILE_KEYS = ['datasets', 'tokens'] as const;

/**
 * The parsed config file (`TAKEOUT_CONFIG`): `takeout.config.json`, or a `.js`/`.mjs` module
 * whose default export has the same shape. Its `datasets` are read by datasets/config-file.ts,
 * its `tokens` by auth/settings.ts.
 */
export async function readConfigFile(path: string): Promise<unknown> {
  const absolute = resolve(path);
  let config: unknown;
  try {
    config = /\.(m?js|cjs)$/.test(absolute)
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
  checkKeys(config, path);
  return config;
}

function checkKeys(config: unknown, path: string): void {
  const known = CONFIG_FILE_KEYS.map((key) => `"${key}"`).join(', ');
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new TakeoutError('config_error', `${path}: the config file must hold an object with ${known}`);
  }
  const unknown = Object.keys(config).find((key) => !(CONFIG_FILE_KEYS as readonly string[]).includes(key));
  if (unknown !== undefined) {
    throw new TakeoutError(
      'config_error',
      `${path}: unknown key ${JSON.stringify(unknown)}; the config file's keys are ${known}`,
    );
  }
}
