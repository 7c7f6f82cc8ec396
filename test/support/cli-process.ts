/** `takeout <command>` in a child process (run with tsx), for tests of how it starts or refuses to. */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** A loopback port where nothing listens (free a moment ago). */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface CommandExit {
  code: number | null;
  signal: string | null;
  ms: number;
  stderr: string;
}

/** Runs the command with only PATH and `env`; killed (SIGKILL) if it is still up after `killAfterMs`. */
export function runCommand(
  command: string,
  env: NodeJS.ProcessEnv,
  killAfterMs: number,
): Promise<CommandExit> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', command], {
    env: { PATH: process.env.PATH, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const started = Date.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, ms: Date.now() - started, stderr });
    });
  });
}
