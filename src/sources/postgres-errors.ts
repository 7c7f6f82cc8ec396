import { TakeoutError } from '../errors.js';

/**
 * Maps what pg throws to a TakeoutError whose message is safe to show: it never contains the
 * SQL, parameter values, object names from the server's message, or the connection string.
 * The SQLSTATE goes into `details.sqlstate`; the original error only into `cause`.
 */

/** Safe wording for common SQLSTATEs; other codes get their class's wording. */
const MESSAGES: Record<string, string> = {
  '42601': 'The query has a syntax error',
  '42P01': 'The query refers to a table that does not exist',
  '42703': 'The query refers to a column that does not exist',
  '42883': 'The query calls a function or operator that does not exist',
  '42804': 'The query mixes incompatible types',
  '42P02': 'The query refers to a parameter that has no value',
  '42P18': 'The type of a query parameter cannot be determined',
  '42501': 'The database user may not read what the query reads',
  '42P08': 'The type of a query parameter cannot be determined',
  '22P02': 'A value (often a parameter) is not valid input for its type',
  '22007': 'A date or time value is not valid',
  '22008': 'A date or time value is out of range',
  '22003': 'A number is out of range',
  '22012': 'The query divides by zero',
  '25006': 'The query tries to write, but exports are read-only',
  '0A000': 'The query uses a feature the database does not support here',
  '21000': 'A subquery returned more than one row',
};

/** SQLSTATE classes that mean the query (or its parameters) is at fault: not retryable. */
const QUERY_CLASSES = new Set(['42', '22', '21', '0A', '2F', '38', '39', 'P0', '44']);

/** Node socket errors: connection problems. */
const SOCKET_CODES = /^E[A-Z]+$/;

interface PgLikeError {
  code?: unknown;
  message?: unknown;
}

export function sqlstateOf(error: unknown): string | undefined {
  const code = (error as PgLikeError | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** A TakeoutError for anything pg or the socket threw. TakeoutErrors pass through unchanged. */
export function mapPostgresError(error: unknown, during: 'connect' | 'query' = 'query'): TakeoutError {
  if (error instanceof TakeoutError) return error;
  const sqlstate = sqlstateOf(error);
  if (sqlstate === '57014') {
    return new TakeoutError('source_timeout', 'The query took longer than its statement timeout', {
      cause: error,
      details: { sqlstate },
    });
  }
  if (sqlstate !== undefined && (QUERY_CLASSES.has(sqlstate.slice(0, 2)) || sqlstate === '25006')) {
    const message = MESSAGES[sqlstate] ?? 'The database rejected the query';
    return new TakeoutError('source_query_error', `${message} (SQLSTATE ${sqlstate})`, {
      cause: error,
      details: { sqlstate },
    });
  }
  if (sqlstate !== undefined) {
    const what = sqlstate.startsWith('08') || sqlstate.startsWith('28') || sqlstate === '3D000';
    return new TakeoutError(
      'source_error',
      what
        ? `Could not connect to PostgreSQL (SQLSTATE ${sqlstate})`
        : `PostgreSQL failed (SQLSTATE ${sqlstate})`,
      { cause: error, details: { sqlstate } },
    );
  }
  const code = (error as PgLikeError | null)?.code;
  const details = typeof code === 'string' && SOCKET_CODES.test(code) ? { errno: code } : undefined;
  return new TakeoutError(
    'source_error',
    during === 'connect' ? 'Could not connect to PostgreSQL' : 'The connection to PostgreSQL failed',
    details ? { cause: error, details } : { cause: error },
  );
}

/** The error of an aborted read: the signal's reason when it is a TakeoutError. */
export function abortedError(signal: AbortSignal | undefined): TakeoutError {
  const reason = signal?.reason;
  return reason instanceof TakeoutError ? reason : new TakeoutError('aborted', 'The export was aborted');
}
