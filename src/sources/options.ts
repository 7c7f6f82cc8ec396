import { TakeoutError } from '../errors.js';

/**
 * An integer option of a source (`batchSize`, a timeout), or its default: a wrong one is a
 * `config_error` naming the source and the option, not a failure of the first export.
 */
export function integerOption(
  source: string,
  value: unknown,
  name: string,
  fallback: number,
  min = 1,
  max = 2 ** 31 - 1,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === 2 ** 31 - 1 ? `>= ${min}` : `from ${min} to ${max}`;
    throw new TakeoutError('config_error', `${source}: ${name} must be an integer ${range}`);
  }
  return value;
}

/** The query of a source: a non-empty string. */
export function queryOption(source: string, sql: unknown): string {
  if (typeof sql !== 'string' || sql.trim() === '') {
    throw new TakeoutError('config_error', `${source} needs a non-empty sql string`);
  }
  return sql;
}
