/**
 * The CLI as a real process: SIGTERM and SIGHUP stop an export as Ctrl-C does (no partial
 * file left, exit 128 + the signal's number), and `takeout serve` exits when it cannot listen
 * rather than hanging with its workers running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'takeout-cli-signals-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function cliProcess(args: string[], env: NodeJS.ProcessEnv = {}) {
  const loader = pathToFileURL(resolve('node_modules/tsx/dist/loader.mjs')).href;
  const child = spawn(process.execPath, ['--import', loader, resolve('src/cli/main.ts'), ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  child.stdout?.resume();
  child.stdin?.on('error', () => {}); // EPIPE once it has exited
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  return { child, stderr: () => err, exited };
}

describe('takeout export stopped by a signal', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('%s removes the partial file and exits %i', async (signal, code) => {
    const sub = mkdtempSync(join(dir, `${signal}-`));
    const out = join(sub, 'stopped.csv');
    const run = cliProcess(['export', '-f', 'csv', '-o', out]);
    // Rows keep coming (stdin stays open) until the temp file has some of them.
    const row = `${JSON.stringify({ id: 1, text: 'x'.repeat(200) })}\n`.repeat(1000);
    const feed = setInterval(() => run.child.stdin?.write(row), 20);
    try {
      await expect.poll(() => readdirSync(sub).length, { timeout: 20_000 }).toBeGreaterThan(0);
      run.child.kill(signal);
      expect(await run.exited).toEqual({ code, signal: null });
    } finally {
      clearInterval(feed);
      run.child.stdin?.destroy();
    }
    expect(run.stderr()).toContain(`takeout: interrupted by ${signal}; no file written`);
    expect(readdirSync(sub)).toEqual([]);
  });
});

describe('takeout serve on a port that is taken', () => {
  let taken: Server;
  afterAll(() => new Promise<void>((done) => (taken ? taken.close(() => done()) : done())));

  it('exits 1 saying so, instead of hanging with its workers started', async () => {
    taken = createServer();
    await new Promise<void>((done) => taken.listen(0, '127.0.0.1', done));
    const port = (taken.address() as { port: number }).port;
    const run = cliProcess(['serve'], {
      PORT: String(port),
      TAKEOUT_DATA_DIR: join(dir, 'serve-data'),
      TAKEOUT_DEMO: 'false',
      TAKEOUT_SWEEP_INTERVAL: '0',
      LOG_LEVEL: 'error',
    });
    const timeout = new Promise<'hung'>((done) => setTimeout(() => done('hung'), 20_000).unref());
    expect(await Promise.race([run.exited, timeout]), run.stderr()).toEqual({ code: 1, signal: null });
    expect(run.stderr()).toContain(`takeout: config_error: 127.0.0.1:${port} is already in use`);
  }, 30_000);
});
