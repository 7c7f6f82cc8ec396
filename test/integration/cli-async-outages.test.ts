/**
 * `takeout export --async` through a service that is briefly away: a proxy in front of a real
 * `takeout serve` answers 503 for a while, drops connections, or cuts a download off halfway.
 * The command waits (telling the user), gets one job and a file whose SHA-256 is the job's; when
 * it gives up, it names the job and the `--attach` that picks it up again, which works.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/run.js';
import { runCli } from '../support/cli.js';
import { readExport } from '../support/read-export.js';
import { type ServeProcess, startServeWithConfig } from '../support/serve-process.js';

const TOKEN = 'cli-outage-token-0123456789';
const CONFIG = {
  datasets: [
    {
      name: 'numbers',
      connection: { sqlite: 'empty.sqlite' },
      sql: "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n) SELECT i AS id, printf('row %d', i) AS name FROM s",
      params: { n: { type: 'integer', required: true } },
    },
  ],
};

/**
 * What the proxy does with a request: pass it on, refuse it, drop its connection, pass it on
 * and lose the answer, or cut the answer's body off.
 */
type Action = 'forward' | 'unavailable' | 'drop' | 'lost' | { cutAfterBytes: number };

describe('takeout export --async through outages', () => {
  const dir = mkdtempSync(join(tmpdir(), 'takeout-cli-outages-'));
  const out = join(dir, 'out');
  let serve: ServeProcess;
  let proxy: Server;
  let proxyUrl: string;
  /** Decides each request's fate; the test sets it. */
  let decide: (req: IncomingMessage) => Action = () => 'forward';
  const seen: string[] = [];

  function forward(req: IncomingMessage, res: ServerResponse, cutAfterBytes?: number) {
    const upstream = request(
      { host: '127.0.0.1', port: serve.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (cutAfterBytes === undefined) {
          answer.pipe(res);
          return;
        }
        let sent = 0;
        answer.on('data', (chunk: Buffer) => {
          if (sent + chunk.length >= cutAfterBytes) {
            answer.destroy();
            // Headers and part of the body are sent, then the connection breaks off.
            res.write(chunk.subarray(0, cutAfterBytes - sent), () => res.socket?.destroy());
            return;
          }
          sent += chunk.length;
          res.write(chunk);
        });
        answer.on('end', () => res.end());
      },
    );
    upstream.on('error', () => res.socket?.destroy());
    req.pipe(upstream);
  }

  beforeAll(async () => {
    mkdirSync(out);
    serve = await startServeWithConfig(dir, CONFIG, { TAKEOUT_API_TOKENS: `${TOKEN}=carol:acme` });
    proxy = createServer((req, res) => {
      const action = decide(req);
      seen.push(`${req.method} ${req.url?.split('?')[0]} ${typeof action === 'string' ? action : 'cut'}`);
      if (action === 'unavailable') {
        req.resume();
        res.writeHead(503, { 'retry-after': '1', 'content-type': 'text/plain' }).end('maintenance');
      } else if (action === 'drop') {
        req.socket.destroy();
      } else if (action === 'lost') {
        const upstream = request(
          { host: '127.0.0.1', port: serve.port, path: req.url, method: req.method, headers: req.headers },
          (answer) => {
            answer.resume();
            answer.once('end', () => req.socket.destroy());
          },
        );
        req.pipe(upstream);
      } else {
        forward(req, res, action === 'forward' ? undefined : action.cutAfterBytes);
      }
    });
    await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    proxy?.closeAllConnections();
    await new Promise((done) => proxy?.close(done));
    await serve?.terminate();
    rmSync(dir, { recursive: true, force: true });
  });

  const exportVia = (args: string[]) =>
    runCli(['export', '--async', '--url', proxyUrl, '--token', TOKEN, ...args]);
  const numbers = (n: number, file: string) => [
    '--format',
    'csv',
    '--dataset',
    'numbers',
    '--param',
    `n=${n}`,
    '--out',
    file,
  ];
  const idIn = (stderr: string) => /^(exp_[\w-]+) (queued|running|succeeded)/m.exec(stderr)?.[1] ?? '';

  async function jobOf(id: string) {
    const response = await fetch(`${serve.base}/v1/exports/${id}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { result: { sha256: string; row_count: number } };
  }
  async function exportsMade() {
    const response = await fetch(`${serve.base}/v1/exports?limit=100`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    return ((await response.json()) as { exports: unknown[] }).exports.length;
  }
  async function expectTheJobsFile(file: string, id: string, rows: number) {
    const bytes = readFileSync(file);
    expect(await readExport('csv', bytes)).toHaveLength(rows);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe((await jobOf(id)).result.sha256);
  }

  it('waits out a service that answers 503 and drops connections, and makes one job', async () => {
    const before = await exportsMade();
    const downUntil = Date.now() + 2500;
    let creations = 0;
    decide = (req) => {
      if (req.url?.endsWith('/events')) return 'unavailable'; // so the job is polled
      if (req.method === 'POST') creations++;
      if (Date.now() < downUntil) return creations % 2 === 0 ? 'drop' : 'unavailable';
      return 'forward';
    };
    const file = join(out, 'waited.csv');
    const result = await exportVia(numbers(3000, file));
    expect(result.err).toMatch(/succeeded/);
    expect(result.code).toBe(0);
    expect(result.err).toMatch(/takeout: the service answered 503; trying again in 1 s/);
    expect(result.err).toMatch(
      /takeout: Cannot reach http:\/\/127\.0\.0\.1:\d+: \w+; trying again in [\d.]+ s/,
    );
    expect(creations).toBeGreaterThan(2);
    expect(await exportsMade()).toBe(before + 1); // retried with one Idempotency-Key: one job
    await expectTheJobsFile(file, idIn(result.err), 3000);
  });

  it('downloads again with a fresh link when the connection breaks off halfway', async () => {
    let files = 0;
    decide = (req) => {
      if (req.url?.startsWith('/files/')) {
        files++;
        if (files === 1) return { cutAfterBytes: 20_000 };
      }
      return 'forward';
    };
    const file = join(out, 'resumed.csv');
    const result = await exportVia(numbers(20_000, file));
    expect(result.err).toMatch(
      /takeout: The download broke off after [\d.]+ KiB of [\d.]+ KiB \(\w+\); trying again/,
    );
    expect(result.code, result.err).toBe(0);
    expect(files).toBe(2);
    // Each try asked for its own signed link.
    expect(seen.filter((line) => /\/download forward$/.test(line)).length).toBeGreaterThanOrEqual(2);
    await expectTheJobsFile(file, idIn(result.err), 20_000);
    expect(readdirSync(out).filter((name) => name.includes('.partial') || name.startsWith('.'))).toEqual([]);
  });

  it('gives up after --retry-for naming the job and how to attach; --attach then gets its file', async () => {
    decide = (req) => (req.url?.includes('/download') || req.url?.startsWith('/files/') ? 'drop' : 'forward');
    const file = join(out, 'attached.csv');
    const started = Date.now();
    const gaveUp = await exportVia([...numbers(500, file), '--retry-for', '2s']);
    expect(gaveUp.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(30_000);
    const id = idIn(gaveUp.err);
    expect(gaveUp.err).toContain(
      `takeout: download_failed: Downloading the file of ${id} failed: Cannot reach`,
    );
    expect(gaveUp.err).toContain(
      `${id}: its file is kept: follow it again with takeout export --async --attach ${id}`,
    );
    expect(readdirSync(out)).not.toContain('attached.csv');

    decide = () => 'forward';
    const before = await exportsMade();
    const attached = await exportVia(['--attach', id, '--out', file]);
    expect(attached.code, attached.err).toBe(0);
    expect(attached.err).toMatch(new RegExp(`^${id} succeeded: 500 rows`, 'm'));
    expect(await exportsMade()).toBe(before); // nothing new was asked for
    await expectTheJobsFile(file, id, 500);
  });

  it('cancels the job a creation made when stopped while that creation is retried', async () => {
    const before = await exportsMade();
    // The first POST reaches the service but its answer is lost; the retries are refused.
    let posts = 0;
    let stopped = false;
    decide = (req) => {
      if (req.method !== 'POST' || !req.url?.endsWith('/v1/exports')) return 'forward';
      posts++;
      if (posts === 1) return 'lost';
      return stopped ? 'forward' : 'unavailable';
    };
    const interrupt = new AbortController();
    const stderr = new PassThrough();
    let err = '';
    stderr.on('data', (chunk) => {
      err += chunk;
      // Stopped while it waits to try again.
      if (/trying again/.test(err) && !stopped) {
        stopped = true;
        interrupt.abort();
      }
    });
    const code = await main(
      ['export', '--async', '--url', proxyUrl, '--token', TOKEN, ...numbers(100, join(out, 'stopped.csv'))],
      { stdin: Readable.from(['']), stdout: new PassThrough(), stderr, env: {}, interrupt: interrupt.signal },
    );
    expect(code, err).toBe(130);
    // Asked once more with the same key: the job the first POST made, canceled.
    const id = /takeout: canceled: (exp_[\w-]+) was canceled/.exec(err)?.[1];
    expect(id, err).toBeDefined();
    expect(await exportsMade()).toBe(before + 1);
    expect(['canceling', 'canceled']).toContain(((await jobOf(id!)) as unknown as { status: string }).status);
  });

  it('leaves an export it attached to running when stopped', async () => {
    decide = () => 'forward';
    const created = await fetch(`${serve.base}/v1/exports`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TOKEN}`,
        'content-type': 'application/json',
        prefer: 'respond-async',
      },
      body: JSON.stringify({ dataset: 'numbers', format: 'csv', params: { n: 5_000_000 } }),
    });
    const { id } = (await created.json()) as { id: string };
    const interrupt = new AbortController();
    const stderr = new PassThrough();
    let err = '';
    stderr.on('data', (chunk) => {
      err += chunk;
      if (err.includes(`${id} `) && !interrupt.signal.aborted) interrupt.abort();
    });
    const code = await main(['export', '--async', '--url', proxyUrl, '--token', TOKEN, '--attach', id], {
      stdin: Readable.from(['']),
      stdout: new PassThrough(),
      stderr,
      env: {},
      interrupt: interrupt.signal,
    });
    expect(code, err).toBe(130);
    expect(err).toContain(`(${id} is kept)`);
    const job = (await jobOf(id)) as unknown as { status: string };
    expect(['queued', 'running']).toContain(job.status);
    // Not the test's to finish: cancel it.
    await fetch(`${serve.base}/v1/exports/${id}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
  });

  it('refuses --attach with request flags, without --async, and an export that is not yours', async () => {
    const mixed = await exportVia(['--attach', 'exp_x', '--dataset', 'numbers']);
    expect(mixed.code).toBe(2);
    expect(mixed.err).toMatch(
      /--attach follows an export that exists, as it was asked; --dataset does not apply/,
    );
    const alone = await runCli(['export', '--attach', 'exp_x']);
    expect(alone.code).toBe(2);
    expect(alone.err).toMatch(/--attach goes with --async/);
    decide = () => 'forward';
    const missing = await exportVia(['--attach', 'exp_nobodys0000000000000']);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(
      /takeout: export_not_found: No export exp_nobodys0000000000000 of yours at http/,
    );
  });
});
