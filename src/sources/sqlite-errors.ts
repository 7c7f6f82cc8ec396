import { TakeoutError } from '../errors.js';

// Failures of the database itself (missing, locked, corrupt) may pass; a bad query will not.
const UNAVAILABLE = /^SQLITE_(CANTOPEN|BUSY|LOCKED|IOERR|CORRUPT|NOTADB|FULL|NOMEM|PROTOCOL)/;

/**
 * Maps a SQLite failure to a code. The message names only SQLite's result code; the original
 * (which may quote the SQL or name tables) stays in `cause` for logs and the CLI.
 */
export function queryError(error: unknown): TakeoutError {
  const code = (error as { code?: unknown })?.code;
  const sqliteCode = typeof code === 'string' ? code : 'SQLITE_ERROR';
  if (UNAVAILABLE.test(sqliteCode)) {
    return new TakeoutError('source_error', `The database could not be read (${sqliteCode})`, {
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message : '';
  // A named parameter the query uses and the export did not give: the caller's mistake.
  const missing = /^Missing named parameter "([^"]+)"/.exec(message);
  if (missing) {
    return new TakeoutError('invalid_params', `Missing parameter "${missing[1]}"`, { cause: error });
  }
  // As for PostgreSQL (postgres-errors.ts): what went wrong in safe words, never the names or
  // values of the database's own message; that stays in `cause`, for the log.
  const what = QUERY_FAULTS.find(([pattern]) => pattern.test(message))?.[1] ?? 'The query failed';
  return new TakeoutError('source_query_error', `${what} (${sqliteCode})`, { cause: error });
}

/** SQLite's messages, by what they are about. */
const QUERY_FAULTS: [RegExp, string][] = [
  [/syntax error|incomplete input|unrecognized token/i, 'The query has a syntax error'],
  [/no such table/i, 'The query refers to a table that does not exist'],
  [/no such column/i, 'The query refers to a column that does not exist'],
  [
    /no such function|wrong number of arguments/i,
    'The query calls a function that does not exist or with the wrong arguments',
  ],
  [/malformed JSON/i, 'A value is not valid JSON'],
  [/ambiguous column/i, 'The query names a column that more than one table has'],
  [
    /too many SQL variables|datatype mismatch|integer overflow/i,
    'A value (often a parameter) is not valid here',
  ],
];
