import { PassThrough, Readable } from 'node:stream';
import { main } from '../../src/cli/run.js';

/** Runs the CLI in this process; its exit code and what it wrote. */
export async function runCli(args: string[], options: { stdin?: string; env?: NodeJS.ProcessEnv } = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => {
    out += c;
  });
  stderr.on('data', (c) => {
    err += c;
  });
  const code = await main(args, {
    stdin: Readable.from([options.stdin ?? '']),
    stdout,
    stderr,
    env: options.env ?? {},
  });
  return { code, out, err };
}
