import { isTakeoutError, TakeoutError } from '../../errors.js';

/**
 * A job store failure with the database's reason on one line, for whoever runs the process
 * (a store that will not open, a `takeout jobs` command): `The job database failed (database
 * "x" does not exist)`. Never for an API answer: the driver's text may quote values. The
 * printed line is scrubbed of passwords by the CLI. Applying it twice changes nothing.
 */
export function withDatabaseReason(error: unknown): unknown {
  if (!isTakeoutError(error) || (error.code !== 'job_store_error' && error.code !== 'internal')) return error;
  const cause = error.cause instanceof Error ? error.cause : undefined;
  const reason = (cause?.message || (cause as { code?: string } | undefined)?.code)?.replace(/\s+/g, ' ');
  if (!reason || error.message.endsWith(`(${reason})`)) return error;
  return new TakeoutError(error.code, `${error.message} (${reason})`, { cause });
}
