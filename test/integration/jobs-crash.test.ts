/**
 * The embedded mode survives a crash: `kill -9` of `takeout serve` in the middle of a
 * 500,000-row export, a restart, and the job completes once, at attempt 2, with exactly one
 * object in storage. Real processes, the real SQLite file and disk storage.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Row } from '../../src/types.js';
import { alice, type TestService, testService } from '../support/jobs.js';
import { readEvents } from '../support/sse.js';

// Enough rows that the export outlasts a few heartbeats (1 s: progress is recorded then), so
// the server can be killed mid-export on a fast machine too.
const ROWS = 1_500_000;
const ALICE_TOKEN = 'token-alice-crash-aaaaaaaa';
const dir = mkdtempSync(join(tmpdir(), 'takeout-crash-'));
const env = {
  TAKEOUT_DATA_DIR: dir,
  TAKEOUT_DEMO: 'false',
  // A crashed worker's lease ends 3 s after its last renewal: the restart takes over then.
  TAKEOUT_JOB_LEASE: '3',
  TAKEOUT_WORKERS: '1',
  TAKEOUT_API_TOKENS: `${ALICE_TOKEN}=alice:acme`,
};
const servers: ChildProcess[] = [];
/** Where each server listens. */
const bases = new Map<ChildProcess, string>();
/** What each server wrote to stderr (its log), shown when an expectation fails. */
const logs = new Map<ChildProcess, string>();
let client: TestService | undefined;

/** Each test starts from no running server: a server left over would run the next test's job. */
afterEach(async () => {
  for (const server of servers.splice(0)) {
    if (server.exitCode !== null || server.signalCode !== null) continue;
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGKILL');
    await exited;
  }
});

afterAll(async () => {
  for (const server of servers) server.kill('SIGKILL');
  await client?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function serve(extra: NodeJS.ProcessEnv = {}): Promise<ChildProcess> {
  const server = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
    env: { ...process.env, ...env, PORT: '0', LOG_LEVEL: 'info', ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  servers.push(server);
  logs.set(server, '');
  // Its log lines (stdout) join what it says on stderr.
  server.stdout!.on('data', (chunk: Buffer) => logs.set(server, logs.get(server) + chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    server.stderr!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      logs.set(server, logs.get(server) + chunk.toString());
      const serving = /serving (http:\/\/\S+)/.exec(seen);
      if (serving) {
        bases.set(server, serving[1]!);
        resolve();
      }
    });
    server.once('exit', (code) => reject(new Error(`server exited with ${code}: ${seen}`)));
  });
  return server;
}

function* wideRows(n: number): Generator<Row> {
  for (let i = 0; i < n; i++) {
    yield {
      id: i,
      customer: `Customer ${i % 9973}, "quoted"`,
      country: ['DE', 'FR', 'JP', 'BR'][i % 4],
      amount: (i * 37) / 100,
      placed: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
      note: i % 7 === 0 ? 'multi\nline' : 'plain',
    };
  }
}

/** A 1,500,000-row XLSX job the running server has started (rows written), and the client. */
async function runningXlsxJob() {
  client ??= await testService(env, { dir });
  const request = client.request(
    { format: 'xlsx', columns: ['id', 'customer', 'country', 'amount', 'placed', 'note'] },
    true,
  );
  const { job } = await client.service.jobs.create(request, alice, { rows: wideRows(ROWS) });
  await client.until(job.id, (j) => j.status === 'running' && j.progress.rowsWritten > 0, 60_000);
  return { job, client };
}

async function countCsvRows(body: AsyncIterable<Uint8Array>): Promise<{ rows: number; lastId: string }> {
  const parser = parse({ columns: true });
  let rows = 0;
  let lastId = '';
  const counting = (async () => {
    for await (const record of parser as AsyncIterable<{ id: string }>) {
      rows++;
      lastId = record.id;
    }
  })();
  for await (const chunk of body) if (!parser.write(chunk)) await new Promise((r) => parser.once('drain', r));
  parser.end();
  await counting;
  return { rows, lastId };
}

describe('the embedded queue across a crash and a shutdown of takeout serve', () => {
  it('completes a 500,000-row export once, at attempt 2, with one object in storage', async () => {
    const first = await serve();
    // The library API in this process writes the record and stages the rows; the server's
    // embedded queue finds the record in the shared SQLite file.
    client = await testService(env, { dir });
    const request = client.request(
      { format: 'csv', columns: ['id', 'customer', 'country', 'amount', 'placed', 'note'] },
      true,
    );
    const { job } = await client.service.jobs.create(request, alice, { rows: wideRows(ROWS) });

    const midway = await client.until(
      job.id,
      (j) => j.status === 'running' && j.progress.rowsWritten > 0,
      60_000,
    );
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    expect(midway.attempt).toBe(1);
    expect(midway.progress.rowsWritten).toBeLessThan(ROWS);
    const afterKill = await client.service.jobs.get(job.id, alice);
    expect(afterKill).toMatchObject({ status: 'running', attempt: 1 });

    await serve();
    const done = await client.until(job.id, (j) => j.status === 'succeeded', 120_000);
    expect(done.attempt).toBe(2);
    expect(done.result).toMatchObject({ rowCount: ROWS });
    expect(done.result!.key).toContain(`/${job.id}/a2/`);
    // The staged rows went with the job.
    expect(await client.gone(job.inputKey!)).toBe(true);
    expect(await client.objects()).toEqual([done.result!.key]);

    const hash = createHash('sha256');
    async function* hashed() {
      for await (const chunk of (await client!.service.storage.read(done.result!.key))!) {
        hash.update(chunk);
        yield chunk;
      }
    }
    expect(await countCsvRows(hashed())).toEqual({ rows: ROWS, lastId: String(ROWS - 1) });
    expect(hash.digest('hex')).toBe(done.result!.sha256);
    // Still succeeded, and still attempt 2, a moment later: nothing ran it a third time.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await client.service.jobs.get(job.id, alice)).toMatchObject({ status: 'succeeded', attempt: 2 });
  }, 240_000);

  it('exits within the grace period on SIGTERM, an open progress stream and all, handing the job back; the next start completes it', async () => {
    // The previous test's server would race `first` for the job: only `first` may run it.
    for (const server of servers.splice(0)) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
      else continue;
      await exited;
    }
    // No grace: a fast machine could otherwise finish the export within it (then nothing is handed back).
    const first = await serve({ TAKEOUT_SHUTDOWN_GRACE: '0' });
    // XLSX: slow enough that it is still running when the grace period ends.
    const { job, client } = await runningXlsxJob();
    // The export page keeps a progress stream open: it must not hold the server's close up.
    const stream = await fetch(`${bases.get(first)}/v1/exports/${job.id}/events`, {
      headers: { authorization: `Bearer ${ALICE_TOKEN}` },
    });
    expect(stream.status).toBe(200);
    const events = readEvents(stream).catch(() => []);
    const t0 = Date.now();
    first.kill('SIGTERM');
    const code = await new Promise((resolve) => first.once('exit', resolve));
    const exitMs = Date.now() - t0;
    expect(code, logs.get(first)).toBe(0);
    // The stream ended with the server; the client reconnects to another (retry: 2000).
    expect((await events).length).toBeGreaterThan(0);
    // The hand-back and the close: well within a few seconds.
    expect(exitMs).toBeLessThan(6000);
    const handedBack = await client.service.jobs.get(job.id, alice);
    expect(handedBack, logs.get(first)).toMatchObject({ status: 'queued', attempt: 1 });
    expect((await client.objects()).filter((key) => key.includes(job.id))).toEqual([]);

    await serve();
    const done = await client.until(job.id, (j) => j.status === 'succeeded', 120_000);
    expect(done).toMatchObject({ attempt: 2, result: { rowCount: ROWS } });
    expect((await client.objects()).filter((key) => key.includes(job.id))).toEqual([done.result!.key]);
    console.log(`SIGTERM to exit: ${exitMs} ms (grace 0 s)`);
  }, 240_000);
});

describe('takeout serve stopped twice', () => {
  it('keeps its probes and metrics up through the grace, not ready; a second SIGTERM hands the job back at once', async () => {
    // A grace far longer than the test: only the second signal can end it in time.
    const first = await serve({ TAKEOUT_SHUTDOWN_GRACE: '10m', TAKEOUT_METRICS_PORT: '0' });
    const metrics = /Metrics and probes: (http:\/\/\S+)\/metrics/.exec(logs.get(first)!)?.[1];
    expect(metrics, logs.get(first)).toBeDefined();
    const { job, client } = await runningXlsxJob();
    expect((await fetch(`${metrics}/readyz`)).status).toBe(200);

    const exited = new Promise((resolve) => first.once('exit', resolve));
    first.kill('SIGTERM');
    // In the grace: not ready, still alive and scraped, the export still running here.
    await expect.poll(async () => (await fetch(`${metrics}/readyz`)).status, { timeout: 5000 }).toBe(503);
    const readyz = (await (await fetch(`${metrics}/readyz`)).json()) as Record<string, unknown>;
    expect(readyz).toMatchObject({ code: 'not_ready', failed: ['process'] });
    expect(await (await fetch(`${metrics}/healthz`)).json()).toMatchObject({ status: 'ok', stopping: true });
    expect((await fetch(`${metrics}/metrics`)).status).toBe(200);
    const before = (await client.service.jobs.get(job.id, alice))!.progress.rowsWritten;
    await expect
      .poll(async () => (await client!.service.jobs.get(job.id, alice))!.progress.rowsWritten, {
        timeout: 10_000,
      })
      .toBeGreaterThan(before);
    expect(first.exitCode).toBeNull();

    const t0 = Date.now();
    first.kill('SIGTERM');
    expect(await exited, logs.get(first)).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(logs.get(first)).toContain('second stop signal');
    // Handed back, not failed nor counted as an attempt.
    const handedBack = await client.service.jobs.get(job.id, alice);
    expect(handedBack, logs.get(first)).toMatchObject({ status: 'queued', attempt: 1 });
    await expect(fetch(`${metrics}/healthz`)).rejects.toThrow();
    await client.service.jobs.cancel(job.id, alice);
  }, 240_000);
});
