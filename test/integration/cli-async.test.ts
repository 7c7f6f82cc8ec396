/**
 * `takeout export --async` against a real `takeout serve` process (SQLite + embedded queue +
 * disk): the job is created, watched and downloaded; the file is read back by independent
 * readers and its SHA-256 compared with the job's. Also: failures and their codes, Ctrl-C
 * and SIGTERM (real signals to a CLI process) cancelling the job, and polling when the events stream
 * keeps breaking (a proxy that refuses it).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { readExport } from '../support/read-export.js';
import { eventually, type ServeProcess, startServeWithConfig } from '../support/serve-process.js';

const ALICE = 'cli-alice-token-0123456789';
const BOB = 'cli-bob-token-0123456789';

// `numbers`: n rows counted by SQLite itself. `breaks`: fails at row 5,000 (integer overflow).
const COUNT = 'WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n)';
const CONFIG = {
  datasets: [
    {
      name: 'numbers',
      connection: { sqlite: 'empty.sqlite' },
      sql: `${COUNT} SELECT i AS id, 'row ' || i AS name, i * 0.25 AS amount FROM s`,
      params: { n: { type: 'integer', required: true } },
    },
    {
      name: 'breaks',
      connection: { sqlite: 'empty.sqlite' },
      sql: `${COUNT} SELECT CASE WHEN i < 5000 THEN i ELSE abs(-9223372036854775807 - 1) END AS id FROM s`,
      params: { n: { type: 'integer', required: true } },
    },
  ],
};

interface JobDocument {
  id: string;
  status: string;
  result?: { filename: string; sha256: string; size_bytes: number; row_count: number };
}

/** The CLI as its own process (for a real SIGINT, and a working directory of its own). */
function cliProcess(args: string[], env: NodeJS.ProcessEnv, cwd: string) {
  const loader = pathToFileURL(resolve('node_modules/tsx/dist/loader.mjs')).href;
  const child = spawn(process.execPath, ['--import', loader, resolve('src/cli/main.ts'), ...args], {
    cwd,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  child.stdout?.resume();
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return { child, stderr: () => err, exited };
}

describe('takeout export --async against takeout serve', () => {
  const dir = mkdtempSync(join(tmpdir(), 'takeout-cli-async-'));
  const out = join(dir, 'out');
  let serve: ServeProcess;
  const children: ChildProcess[] = [];

  async function job(id: string, token = ALICE): Promise<JobDocument> {
    const response = await fetch(`${serve.base}/v1/exports/${id}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    return (await response.json()) as JobDocument;
  }

  const idIn = (stderr: string) => /^(exp_[\w-]+) (queued|running|succeeded)/m.exec(stderr)?.[1] ?? '';

  beforeAll(async () => {
    mkdirSync(out);
    serve = await startServeWithConfig(dir, CONFIG, {
      TAKEOUT_API_TOKENS: `${ALICE}=alice:acme,${BOB}=bob:acme`,
      TAKEOUT_SYNC_MAX_ROWS: '1000',
    });
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await serve?.terminate();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the job, follows it and downloads the file, whose SHA-256 is the job’s', async () => {
    const file = join(out, 'numbers.csv');
    const {
      code,
      out: stdout,
      err,
    } = await runCli([
      'export',
      '--async',
      '--url',
      serve.base,
      '--token',
      ALICE,
      '--format',
      'csv',
      '--dataset',
      'numbers',
      '--param',
      'n=30000',
      '--out',
      file,
    ]);
    expect(err).toMatch(/succeeded: 30,000 rows/);
    expect(code).toBe(0);
    expect(stdout).toBe('');
    const bytes = readFileSync(file);
    const rows = (await readExport('csv', bytes)) as { id: string; name: string }[];
    expect(rows).toHaveLength(30_000);
    expect(rows[0]).toEqual({ id: '1', name: 'row 1', amount: '0.25' });
    expect(rows.at(-1)?.id).toBe('30000');
    const done = await job(idIn(err));
    expect(done.status).toBe('succeeded');
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(done.result?.sha256);
    expect(err).toContain(done.result?.sha256);
    expect(readdirSync(out)).toEqual(['numbers.csv']); // no partial file left behind

    const piped = await runCli(
      ['export', '--async', '--format', 'json', '--dataset', 'numbers', '--param', 'n=3', '--out', '-'],
      { env: { TAKEOUT_URL: serve.base, TAKEOUT_TOKEN: ALICE } },
    );
    expect(piped.code).toBe(0);
    expect((await readExport('json', Buffer.from(piped.out))).map((row) => row.id)).toEqual([1, 2, 3]);
  });

  it('reads TAKEOUT_URL and TAKEOUT_TOKEN, and names the file after the export', async () => {
    const cwd = mkdtempSync(join(dir, 'cwd-'));
    const run = cliProcess(
      ['export', '--async', '--format', 'xlsx', '--dataset', 'numbers', '--param', 'n=2500'],
      { TAKEOUT_URL: serve.base, TAKEOUT_TOKEN: ALICE },
      cwd,
    );
    children.push(run.child);
    expect(await run.exited, run.stderr()).toBe(0);
    expect(idIn(run.stderr()), run.stderr()).toMatch(/^exp_/);
    const done = await job(idIn(run.stderr()));
    const name = done.result?.filename ?? 'none';
    expect(name).toMatch(/^numbers-\d{8}-\d{6}\.xlsx$/);
    expect(readdirSync(cwd)).toEqual([name]);
    const bytes = readFileSync(join(cwd, name));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(done.result?.sha256);
    const rows = await readExport('xlsx', bytes);
    expect(rows).toHaveLength(2500);
    // An integer computed by SQLite (no declared type) is a number cell, as its text is text.
    expect(rows[2499]).toMatchObject({ id: 2500, name: 'row 2500', amount: 625 });
  });

  it('saves an export whose requested name is long in bytes (100 CJK characters) under a name it can write', async () => {
    const created = await fetch(`${serve.base}/v1/exports`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ALICE}`,
        'content-type': 'application/json',
        prefer: 'respond-async',
      },
      body: JSON.stringify({
        dataset: 'numbers',
        format: 'csv',
        params: { n: 3 },
        filename: `${'日'.repeat(100)}.csv`,
      }),
    });
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as JobDocument;
    const cwd = mkdtempSync(join(dir, 'long-name-'));
    const run = cliProcess(
      ['export', '--async', '--attach', id],
      { TAKEOUT_URL: serve.base, TAKEOUT_TOKEN: ALICE },
      cwd,
    );
    children.push(run.child);
    expect(await run.exited, run.stderr()).toBe(0);
    // At most 180 bytes, cut between characters, the extension kept: it was 304 bytes and the
    // CLI failed with ENAMETOOLONG on its temporary name after the job had finished.
    const name = `${'日'.repeat(58)}.csv`;
    expect((await job(id)).result?.filename).toBe(name);
    expect(readdirSync(cwd)).toEqual([name]);
    expect(await readExport('csv', readFileSync(join(cwd, name)))).toHaveLength(3);
  });

  it('exits 1 with the problem code when the service refuses or the export fails', async () => {
    const base = ['export', '--async', '--url', serve.base, '--format', 'csv', '--out', join(out, 'x.csv')];
    const unknown = await runCli([...base, '--token', ALICE, '--dataset', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/^takeout: unknown_dataset: /m);
    const refused = await runCli([
      ...base,
      '--token',
      'wrong-token',
      '--dataset',
      'numbers',
      '--param',
      'n=1',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^takeout: unauthorized: the token of --token was refused: /m);
    // Without any token: which flag gives one.
    const tokenless = await runCli([...base, '--dataset', 'numbers', '--param', 'n=1']);
    expect(tokenless.code).toBe(1);
    expect(tokenless.err).toMatch(/^takeout: unauthorized: give a token with --token or TAKEOUT_TOKEN /m);
    const fromEnv = await runCli([...base, '--dataset', 'numbers', '--param', 'n=1'], {
      env: { TAKEOUT_TOKEN: 'wrong-token' },
    });
    expect(fromEnv.err).toMatch(/^takeout: unauthorized: the token of TAKEOUT_TOKEN was refused: /m);
    // A flag of another format, said as typed, before any request (exit 2, as a local export).
    const sheetOnCsv = await runCli([...base, '--token', ALICE, '--dataset', 'numbers', '--sheet-name', 'x']);
    expect([sheetOnCsv.code, sheetOnCsv.err.split('\n')[0]]).toEqual([
      2,
      'takeout: invalid_option: --sheet-name applies to xlsx only, not csv',
    ]);
    const failed = await runCli([...base, '--token', ALICE, '--dataset', 'breaks', '--param', 'n=9000']);
    expect(failed.code).toBe(1);
    const id = idIn(failed.err);
    const record = (await job(id)) as JobDocument & { error?: { code: string } };
    expect(record.status).toBe('failed');
    expect(failed.err).toMatch(new RegExp(`^takeout: ${record.error?.code}: `, 'm'));
    expect(readdirSync(out)).not.toContain('x.csv');
    // Tried again for --retry-for (default two minutes), then given up on.
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((done) => closed.close(done));
    const unreachable = await runCli([
      ...base,
      '--url',
      `http://127.0.0.1:${closedPort}`,
      '--dataset',
      'numbers',
      '--retry-for',
      '1s',
    ]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.err).toBe(
      `takeout: Cannot reach http://127.0.0.1:${closedPort}: ECONNREFUSED; trying again in 0.5 s\n` +
        `takeout: unreachable: Cannot reach http://127.0.0.1:${closedPort}: ECONNREFUSED\n`,
    );
    // A port fetch never connects to (the Fetch standard's "bad port"): not tried again.
    const blocked = await runCli([...base, '--url', 'http://127.0.0.1:9', '--dataset', 'numbers']);
    expect(blocked.code).toBe(1);
    expect(blocked.err).toBe('takeout: unreachable: Cannot reach http://127.0.0.1:9: bad port\n');
    const usage = await runCli(['export', '--async', '--format', 'csv', '--dataset', 'numbers']);
    expect(usage.code).toBe(2);
    expect(usage.err).toContain('--url URL or TAKEOUT_URL');
  });

  // SIGTERM (`kill`, `docker stop`) stops it as Ctrl-C does, not leaving the job running.
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('cancels the job on %s and exits %i', async (signal, exitCode) => {
    const cwd = mkdtempSync(join(dir, 'cwd-'));
    const run = cliProcess(
      ['export', '--async', '--url', serve.base, '--token', ALICE, '--format', 'csv'].concat([
        '--dataset',
        'numbers',
        '--param',
        // Long enough to interrupt; small enough that the service's row count (on a worker
        // thread, which a process cannot leave before it ends) is over in a second or two.
        'n=5000000',
      ]),
      {},
      cwd,
    );
    children.push(run.child);
    expect(await eventually(async () => idIn(run.stderr()) !== '', 20_000), run.stderr()).toBe(true);
    const id = idIn(run.stderr());
    // Running (rows written), so the cancel reaches a worker mid-export.
    expect(
      await eventually(async () => {
        const current = (await job(id)) as JobDocument & { progress: { rows_written: number } };
        return current.progress.rows_written > 0;
      }, 20_000),
    ).toBe(true);
    run.child.kill(signal);
    expect(await run.exited).toBe(exitCode);
    expect(run.stderr()).toMatch(new RegExp(`takeout: canceled: ${id} was canceled`));
    expect(await eventually(async () => (await job(id)).status === 'canceled', 10_000)).toBe(true);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('retries a creation whose answer was lost (one job), and polls when the events stream keeps breaking', async () => {
    // A proxy in front of the service: the first creation reaches the service but its answer
    // is lost (502), and every events stream is refused; everything else is forwarded.
    let eventsAsked = 0;
    const creations: (string | undefined)[] = [];
    const proxy: Server = createServer((req, res) => {
      if (req.url?.endsWith('/events')) {
        eventsAsked++;
        res.writeHead(502).end();
        return;
      }
      const creation = req.method === 'POST' && req.url === '/v1/exports';
      if (creation) creations.push(req.headers['idempotency-key'] as string | undefined);
      const upstream = request(
        { host: '127.0.0.1', port: serve.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          if (creation && creations.length === 1) {
            answer.resume();
            answer.once('end', () => res.writeHead(502).end());
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    const listed = async () => {
      const response = await fetch(`${serve.base}/v1/exports?limit=100`, {
        headers: { authorization: `Bearer ${BOB}` },
      });
      return ((await response.json()) as { exports: unknown[] }).exports.length;
    };
    const before = await listed();
    await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
    try {
      const { port } = proxy.address() as AddressInfo;
      const exportVia = (file: string) =>
        runCli(
          [
            'export',
            '--async',
            '--url',
            `http://127.0.0.1:${port}`,
            '--token',
            BOB,
            '--format',
            'ndjson',
          ].concat(['--dataset', 'numbers', '--param', 'n=1500', '--out', file]),
        );
      const checked = async (file: string, stderr: string) => {
        const bytes = readFileSync(file);
        expect(await readExport('ndjson', bytes)).toHaveLength(1500);
        const done = await job(idIn(stderr), BOB);
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(done.result?.sha256);
      };

      // The first creation's answer is lost: the retry carries the same key and gets the same job.
      const retried = await exportVia(join(out, 'retried.ndjson'));
      expect(retried.err).toMatch(/succeeded/);
      expect(retried.code).toBe(0);
      expect(creations).toHaveLength(2);
      expect(creations[0]).toMatch(/^[\w-]{20,}$/);
      expect(creations[1]).toBe(creations[0]); // the same Idempotency-Key ...
      expect(await listed()).toBe(before + 1); // ... so one job, not two
      await checked(join(out, 'retried.ndjson'), retried.err);

      // Answered at once (queued), the job is watched: its events are refused, so it is polled.
      eventsAsked = 0;
      const polled = await exportVia(join(out, 'polled.ndjson'));
      expect(polled.err).toMatch(/succeeded/);
      expect(polled.code).toBe(0);
      expect(eventsAsked).toBeGreaterThanOrEqual(3);
      await checked(join(out, 'polled.ndjson'), polled.err);
    } finally {
      proxy.closeAllConnections();
      await new Promise((done) => proxy.close(done));
    }
  });
});
