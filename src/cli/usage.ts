import type { Readable } from 'node:stream';

/** What a command reads and writes; tests pass their own. */
export interface CliIo {
  stdin: Readable;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

/** Bad command-line usage: exit code 2 with the message. */
export class UsageError extends Error {
  override name = 'UsageError';
}
