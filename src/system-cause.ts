/**
 * The operating system's or SQLite's reason behind an error, for the operator's log line: a
 * `storage_error` or `job_store_error` says what failed, and `ENOSPC` says why (a full disk
 * looked like bad permissions or a lost mount). Only errno-style codes (`ENOSPC`, `EACCES`,
 * `SQLITE_FULL`) are taken: their messages name a system call or a file, never a query, its
 * parameters or credentials.
 */
const SYSTEM_CODE = /^(E[A-Z0-9]+|SQLITE_[A-Z_]+)$/;

export function systemCause(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && SYSTEM_CODE.test(code)) {
      const message = current.message.startsWith(code) ? current.message : `${code}: ${current.message}`;
      return message.slice(0, 300);
    }
    current = current.cause;
  }
  return undefined;
}
