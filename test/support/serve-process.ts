/**
 * `takeout serve` in a child process (run with tsx), and HTTP clients that misbehave on
 * purpose over raw sockets: what a real server process does with them, not an in-process app.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export interface ServeProcess {
  base: string;
  port: number;
  child: ChildProcess;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** ... and to stdout (its JSON log lines). */
  stdout(): string;
  /** Sends SIGTERM; resolves with how long the process took to exit, ms. */
  terminate(): Promise<number>;
}

export async function startServe(env: NodeJS.ProcessEnv): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logged = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    logged += chunk.toString();
  });
  let seen = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    seen += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const base = await new Promise<string>((resolve, reject) => {
    const onData = () => {
      const match = /serving (http:\/\/\S+)/.exec(seen);
      if (match) {
        child.stderr?.off('data', onData);
        resolve(match[1] as string);
      }
    };
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`takeout serve exited with ${code}: ${seen}`)));
  });
  return {
    base,
    port: Number(new URL(base).port),
    child,
    stderr: () => seen,
    stdout: () => logged,
    async terminate() {
      const started = Date.now();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      return Date.now() - started;
    },
  };
}

/**
 * `takeout serve` in `dir` (its data in `dir/data`) with `config` as its config file, beside an
 * empty SQLite database (`empty.sqlite`) for datasets that compute their rows; no demo, no
 * sweeper.
 */
export async function startServeWithConfig(
  dir: string,
  config: unknown,
  env: NodeJS.ProcessEnv,
): Promise<ServeProcess> {
  new Database(join(dir, 'empty.sqlite')).close();
  writeFileSync(join(dir, 'takeout.config.json'), JSON.stringify(config));
  return startServe({
    TAKEOUT_DATA_DIR: join(dir, 'data'),
    TAKEOUT_CONFIG: join(dir, 'takeout.config.json'),
    TAKEOUT_DEMO: 'false',
    TAKEOUT_SWEEP_INTERVAL: '0',
    ...env,
  });
}

/** A raw HTTP/1.1 POST whose socket the test drives: it can stop reading or hang up at will. */
export interface RawExchange {
  socket: net.Socket;
  /** Bytes received so far (headers included), when reading. */
  received(): Buffer;
  /** Resolves when the socket has closed. */
  closed: Promise<void>;
}

export function rawPost(
  port: number,
  path: string,
  body: string,
  headers: Record<string, string>,
  options: { read: boolean },
): RawExchange {
  const socket = net.connect({ host: '127.0.0.1', port });
  const chunks: Buffer[] = [];
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  const payload = Buffer.from(body);
  const head = [
    `POST ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Content-Type: application/json',
    // One request per connection, so the server's hang-up marks the end of the response.
    'Connection: close',
    `Content-Length: ${payload.byteLength}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    '',
    '',
  ].join('\r\n');
  socket.write(head);
  socket.write(payload);
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  // Paused, the socket reads nothing (bytes wait in the kernel) until `read()` or `resume()`.
  if (!options.read) socket.pause();
  return { socket, received: () => Buffer.concat(chunks), closed };
}

/** Splits a raw HTTP/1.1 response (chunked or not) into status, headers and body. */
export function parseRawResponse(raw: Buffer): { status: number; headers: string; body: Buffer } {
  const end = raw.indexOf('\r\n\r\n');
  const headers = raw.subarray(0, end).toString('latin1');
  const status = Number(/^HTTP\/1\.1 (\d+)/.exec(headers)?.[1]);
  let rest = raw.subarray(end + 4);
  if (!/transfer-encoding: chunked/i.test(headers)) return { status, headers, body: rest };
  const parts: Buffer[] = [];
  for (;;) {
    const line = rest.indexOf('\r\n');
    const size = Number.parseInt(rest.subarray(0, line).toString('latin1'), 16);
    if (!size) break;
    parts.push(rest.subarray(line + 2, line + 2 + size));
    rest = rest.subarray(line + 2 + size + 2);
  }
  return { status, headers, body: Buffer.concat(parts) };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true or `timeoutMs` passes; returns the last answer. */
export async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
}
