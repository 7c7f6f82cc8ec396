import type { Readable } from 'node:stream';
import { TakeoutError } from '../errors.js';

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

/**
 * An option the command does not take, reported as node's parseArgs reports one (its code and
 * message), so that every command answers it alike: one line, a "did you mean", and where the
 * options are listed. A word that is not an option is a usage error (the usage is shown).
 */
export function unknownArgument(arg: string, command: string): Error {
  if (!arg.startsWith('-'))
    return new UsageError(`${command} takes no arguments, got ${JSON.stringify(arg)}`);
  return Object.assign(new Error(`Unknown option '${arg}'`), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' });
}

/** The export request built from the flags is not valid (e.g. an unknown option): exit code 2. */
export class RequestError extends Error {
  override name = 'RequestError';
  constructor(readonly error: TakeoutError) {
    super(error.message, { cause: error });
  }
}

/** A flag value that cannot be used (a malformed URL, a missing file): exit 2, naming the flag. */
export function invalidFlag(option: string, message: string): RequestError {
  return new RequestError(new TakeoutError('invalid_option', message, { details: { option } }));
}

/**
 * A command that could not do what it was asked, for a reason of its own (not a TakeoutError
 * of the library): `takeout: <code>: <message>`, exit 1.
 */
export class CommandError extends Error {
  override name = 'CommandError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
