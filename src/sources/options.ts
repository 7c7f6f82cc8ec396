import { closestMember } from '../datasets/declaration.js';
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

/**
 * Refuses an option the source does not have (`readr` for `reader`): TypeScript catches it
 * only in an object literal, and a silently ignored option runs the export some other way.
 */
export function knownOptions(source: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const near = closestMember(key, known);
    // Only a name that looks like one is repeated: a misplaced value might be a secret.
    const named = /^[A-Za-z_$][\w$-]{0,63}$/.test(key) ? JSON.stringify(key) : 'an option';
    throw new TakeoutError(
      'config_error',
      `${source}: ${named} is not one of its options (${near ? `did you mean ${near}?` : `known: ${known.join(', ')}`})`,
    );
  }
}
