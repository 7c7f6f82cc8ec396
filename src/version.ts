import { readFileSync } from 'node:fs';

let version: string | undefined;

/**
 * This package's version (package.json): `takeout --version`, the start lines of `serve` and
 * `worker`, and `takeout_build_info`, so that old and new processes tell apart during a roll.
 */
export function takeoutVersion(): string {
  version ??= (
    JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  ).version;
  return version;
}
