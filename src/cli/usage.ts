import type { Readable } from 'node:stream';
import type { TakeoutError } from '../errors.js';

/** What a command reads and writes; tests pass their own. */
export interface CliIo {
  stdin: Readable;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Aborted to interrupt a command as Ctrl-C would (tests); default: the process's SIGINT. */
  interrupt?: AbortSignal;
}

/** Bad command-line usage: exit code 2 with the message. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The export request built from the flags is not valid (e.g. an unknown option): exit code 2. */
export class RequestError extends Error {
  override name = 'RequestError';
  constructor(readonly error: TakeoutError) {
    super(error.message, { cause: error });
  }
}
