/**
 * The plain Node handler mounted in a real Express app under `/api/takeout`, behind the host
 * app's own session middleware, over real HTTP: sync exports streamed through Express, a job
 * and its download, the owner-only rule, links and `Location` carrying the mount path, a
 * client that hangs up, a body the host already parsed, and `node:http` without a framework.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'csv-parse/sync';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineDataset } from '../../src/datasets/define.js';
import { type TakeoutNodeHandler, takeoutHandler } from '../../src/http/index.js';
import { serviceServerOptions } from '../../src/http/server.js';
import { rowsSource } from '../../src/sources/rows.js';
import { diskStorage } from '../../src/storage/disk.js';
import { numbersDataset, type TestService, testService } from '../support/jobs.js';
import { eventually } from '../support/serve-process.js';

const MOUNT = '/api/takeout';
const SYNC_MAX_ROWS = 100;

/** The host's sessions: its own cookie, its own user objects (not Takeout's tokens). */
const SESSIONS = new Map([
  ['s-alice', { userId: 'alice', orgId: 'acme' }],
  ['s-bob', { userId: 'bob', orgId: 'acme' }],
]);
type HostRequest = IncomingMessage & { user?: { userId: string; orgId: string } };

/** 100 rows, one every 50 ms: a sync export that is still streaming when its client leaves. */
const trickled = { rows: 0, stopped: false };
const trickle = defineDataset({
  name: 'trickle',
  columns: [{ key: 'i', type: 'integer' }],
  source: () =>
    rowsSource(
      (async function* () {
        try {
          for (let i = 0; i < 100; i++) {
            await sleep(50);
            trickled.rows++;
            yield { i };
          }
        } finally {
          trickled.stopped = true;
        }
      })(),
      { batched: false, batchSize: 1, columns: [{ key: 'i', type: 'integer' }] },
    ),
});

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
  });
}

async function closeServer(server: Server | undefined): Promise<void> {
  if (!server?.listening) return;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

describe('takeoutHandler mounted in Express under a path, with the host app’s authentication', () => {
  let jobs: TestService;
  let handler: TakeoutNodeHandler;
  let server: Server;
  let base: string;
  const filesDir = mkdtempSync(join(tmpdir(), 'takeout-express-'));

  const as = (session: string | undefined, extra: Record<string, string> = {}) => ({
    ...(session ? { cookie: `session=${session}` } : {}),
    ...extra,
  });

  async function post(body: unknown, session = 's-alice', headers: Record<string, string> = {}) {
    return fetch(`${base}${MOUNT}/v1/exports`, {
      method: 'POST',
      redirect: 'manual',
      headers: as(session, { 'content-type': 'application/json', ...headers }),
      body: JSON.stringify(body),
    });
  }

  async function getJson(path: string, session = 's-alice') {
    const response = await fetch(base + path, { headers: as(session), redirect: 'manual' });
    return { response, body: (await response.json()) as Record<string, unknown> };
  }

  beforeAll(async () => {
    jobs = await testService(
      { TAKEOUT_SYNC_MAX_ROWS: String(SYNC_MAX_ROWS) },
      {
        datasets: [numbersDataset('numbers', 50), trickle],
        storage: diskStorage({
          root: filesDir,
          secret: 'express-test-secret-0123456789abcdef',
          baseUrl: MOUNT, // download links point under the mount path, where Takeout serves them
        }),
      },
    );
    const { authenticate: _serviceAuth, ...options } = serviceServerOptions(jobs.service);
    handler = await takeoutHandler({
      ...options,
      prefix: MOUNT,
      // The host decides who is calling; Takeout only maps its user to a principal.
      // Typed as the host's request: its middleware's `user` is read without a cast.
      authenticate: (req: HostRequest) =>
        req.user ? { id: req.user.userId, tenant: req.user.orgId } : undefined,
    });

    const app = express();
    app.use((req, _res, next) => {
      const session = /(?:^|;\s*)session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
      const user = session ? SESSIONS.get(session) : undefined;
      if (user) (req as HostRequest).user = user;
      next();
    });
    app.get('/api/me', (req, res) => {
      res.json({ user: (req as HostRequest).user ?? null });
    });
    app.use(MOUNT, handler);
    server = createServer(app);
    base = await listen(server);
    await jobs.service.jobs.startWorker({ concurrency: 2 });
  });
  afterAll(async () => {
    await closeServer(server);
    await handler?.close();
    await jobs?.close();
    rmSync(filesDir, { recursive: true, force: true });
  });

  it('answers a small sync CSV export through Express whole, with its length', async () => {
    const response = await post({ dataset: 'numbers', format: 'csv', params: { n: SYNC_MAX_ROWS } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toMatch(
      /^attachment; filename="numbers-\d{8}-\d{6}\.csv"/,
    );
    // A file within one chunk is sent whole (streaming, and a client hanging up on it, is
    // the hang-up test's below).
    const text = await response.text();
    expect(response.headers.get('transfer-encoding')).toBeNull();
    expect(Number(response.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    const rows = parse(text, { columns: true }) as { id: string }[];
    expect(rows.map((r) => Number(r.id))).toEqual(Array.from({ length: SYNC_MAX_ROWS }, (_, i) => i));
    // The host's own routes are untouched.
    expect((await getJson('/api/me')).body).toEqual({ user: { userId: 'alice', orgId: 'acme' } });
  });

  it('refuses a request the host did not authenticate with a 401 problem', async () => {
    const response = await post({ dataset: 'numbers', format: 'csv' }, '');
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(((await response.json()) as { code: string }).code).toBe('unauthorized');
    const unknown = await getJson(`${MOUNT}/v1/nothing-here`);
    expect(unknown.response.status).toBe(404);
    expect(unknown.body.code).toBe('not_found');
    // The router's own refusals are problems too, never an echo of the URL.
    const malformed = await getJson(`${MOUNT}/v1/exports/%E0%A4%A`);
    expect(malformed.response.status).toBe(400);
    expect(malformed.response.headers.get('content-type')).toContain('application/problem+json');
    expect(malformed.body.code).toBe('invalid_request');
  });

  it('makes a job whose Location, links and download link carry the mount path; the owner downloads it', async () => {
    const created = await post({ dataset: 'numbers', format: 'csv', params: { n: 500 } }, 's-alice', {
      prefer: 'respond-async',
    });
    expect(created.status).toBe(202);
    const job = (await created.json()) as { id: string; links: { self: string; download: string } };
    expect(created.headers.get('location')).toBe(`${MOUNT}/v1/exports/${job.id}`);
    expect(job.links).toEqual({
      self: `${MOUNT}/v1/exports/${job.id}`,
      events: `${MOUNT}/v1/exports/${job.id}/events`,
      download: `${MOUNT}/v1/exports/${job.id}/download`,
      link: `${MOUNT}/v1/exports/${job.id}/link`,
      cancel: `${MOUNT}/v1/exports/${job.id}/cancel`,
    });
    await jobs.until(job.id, (record) => record.status === 'succeeded');
    const done = await getJson(job.links.self);
    expect(done.response.status).toBe(200);
    const result = done.body.result as { sha256: string; size_bytes: number; row_count: number };

    const redirect = await fetch(base + job.links.download, { headers: as('s-alice'), redirect: 'manual' });
    expect(redirect.status).toBe(303);
    expect(redirect.headers.get('cache-control')).toBe('no-store');
    const link = redirect.headers.get('location')!;
    expect(link.startsWith(`${MOUNT}/files/`)).toBe(true);
    // The signed link itself needs no session: it is the grant.
    const file = await fetch(base + link);
    expect(file.status).toBe(200);
    const bytes = Buffer.from(await file.arrayBuffer());
    expect(bytes.length).toBe(result.size_bytes);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(result.sha256);
    expect(parse(bytes, { columns: true })).toHaveLength(500);

    // A tampered link is refused by the same route.
    const url = new URL(link, base);
    const sig = url.searchParams.get('sig')!;
    url.searchParams.set(
      'sig',
      sig.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')),
    );
    expect((await fetch(url)).status).toBe(403);
  });

  it('answers 404 to another principal of the host on every route of the job', async () => {
    const created = await post({ dataset: 'numbers', format: 'csv' }, 's-alice', { prefer: 'respond-async' });
    const job = (await created.json()) as { id: string };
    await jobs.until(job.id, (record) => record.status === 'succeeded');
    for (const [method, suffix] of [
      ['GET', ''],
      ['GET', '/download'],
      ['GET', '/events'],
      ['POST', '/cancel'],
      ['DELETE', ''],
    ] as const) {
      const response = await fetch(`${base}${MOUNT}/v1/exports/${job.id}${suffix}`, {
        method,
        headers: as('s-bob'),
        redirect: 'manual',
      });
      expect(response.status, `${method} ${suffix}`).toBe(404);
      expect(((await response.json()) as { code: string }).code).toBe('export_not_found');
    }
    expect((await getJson(`${MOUNT}/v1/exports/${job.id}`)).body.status).toBe('succeeded');
  });

  it('describes the API under the mount path in its OpenAPI document (its server URL)', async () => {
    const { response, body } = await getJson(`${MOUNT}/v1/openapi.json`, '');
    expect(response.status).toBe(200);
    expect(body.servers).toEqual([{ url: MOUNT }]);
    expect(Object.keys(body.paths as object)).toEqual(
      expect.arrayContaining(['/v1/exports', '/v1/exports/{id}/download', '/v1/datasets', '/files/{key}']),
    );
  });

  it('stops a sync export whose client hangs up mid-stream, and gives its slot back', async () => {
    const controller = new AbortController();
    const response = await fetch(`${base}${MOUNT}/v1/exports`, {
      method: 'POST',
      headers: as('s-alice', { 'content-type': 'application/json' }),
      body: JSON.stringify({ dataset: 'trickle', format: 'csv' }),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    const health = async () =>
      ((await (await fetch(`${base}${MOUNT}/healthz`)).json()) as { sync: { running: number } }).sync.running;
    expect(await health()).toBe(1);
    controller.abort();
    await reader.cancel().catch(() => {});
    expect(await eventually(async () => (await health()) === 0, 5000)).toBe(true);
    // The source itself was stopped, long before its last row.
    expect(await eventually(async () => trickled.stopped, 5000)).toBe(true);
    expect(trickled.rows).toBeLessThan(100);
  });
});

describe('takeoutHandler in other hosts', () => {
  let jobs: TestService;
  let handler: TakeoutNodeHandler;
  const servers: Server[] = [];

  beforeAll(async () => {
    jobs = await testService({}, { datasets: [numbersDataset('numbers', 50)] });
    const { authenticate: _a, storage: _s, jobs: _j, ...syncOnly } = serviceServerOptions(jobs.service);
    handler = await takeoutHandler({
      ...syncOnly,
      prefix: '/exports/',
      authenticate: (req) => (req.headers['x-user'] ? { id: String(req.headers['x-user']) } : undefined),
    });
  });
  afterAll(async () => {
    for (const server of servers) await closeServer(server);
    await handler?.close();
    await jobs?.close();
  });

  it('answers with a too_busy problem after handler.close(); the host’s own routes still answer', async () => {
    const { authenticate: _a, storage: _s, jobs: _j, ...syncOnly } = serviceServerOptions(jobs.service);
    const closing = await takeoutHandler({
      ...syncOnly,
      prefix: '/exports/',
      authenticate: () => ({ id: 'u' }),
    });
    const app = express();
    app.use('/exports', closing);
    app.get('/host', (_req, res) => {
      res.json({ host: true });
    });
    const server = createServer(app);
    servers.push(server);
    const base = await listen(server);
    await closing.close();
    const answer = await fetch(`${base}/exports/v1/datasets`);
    expect(answer.status).toBe(503);
    expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(answer.headers.get('retry-after')).toBe('5');
    expect(((await answer.json()) as { code: string }).code).toBe('too_busy');
    expect(await (await fetch(`${base}/host`)).json()).toEqual({ host: true });
  });

  it('reads the JSON body again when the host parsed it first (express.json() mounted globally)', async () => {
    const app = express();
    app.use(express.json());
    app.use('/exports', handler);
    const server = createServer(app);
    servers.push(server);
    const base = await listen(server);
    const body = JSON.stringify({
      rows: [
        { a: 1, b: 'ü' },
        { a: 2, b: '=x' },
      ],
      format: 'csv',
    });
    const response = await fetch(`${base}/exports/v1/exports`, {
      method: 'POST',
      headers: { 'x-user': 'carol', 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(200);
    expect(parse(await response.text(), { columns: true })).toEqual([
      { a: '1', b: 'ü' },
      { a: '2', b: "'=x" },
    ]);
    const invalid = await fetch(`${base}/exports/v1/exports`, {
      method: 'POST',
      headers: { 'x-user': 'carol', 'content-type': 'application/json' },
      body: JSON.stringify({ rows: [], format: 'nope' }),
    });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { code: string }).code).toBe('unknown_format');
  });

  it('serves node:http directly, with the full path in req.url', async () => {
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/exports/')) return handler(req, res);
      res.writeHead(418).end();
    });
    servers.push(server);
    const base = await listen(server);
    const response = await fetch(`${base}/exports/v1/exports`, {
      method: 'POST',
      headers: { 'x-user': 'dave', 'content-type': 'application/json' },
      body: JSON.stringify({ dataset: 'numbers', format: 'ndjson', params: { n: 3 } }),
    });
    expect(response.status).toBe(200);
    expect(
      (await response.text())
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).id),
    ).toEqual([0, 1, 2]);
    expect((await fetch(`${base}/elsewhere`)).status).toBe(418);
    const datasets = await fetch(`${base}/exports/v1/datasets`, { headers: { 'x-user': 'dave' } });
    expect(((await datasets.json()) as { datasets: { name: string }[] }).datasets.map((d) => d.name)).toEqual(
      ['numbers'],
    );
  });

  it('answers with its own status where the host set one before handing over (Koa sets 404)', async () => {
    const server = createServer((req, res) => {
      // What Koa does before its middleware runs, and so before `ctx.respond = false`.
      res.statusCode = 404;
      handler(req, res);
    });
    servers.push(server);
    const base = await listen(server);
    const exported = await fetch(`${base}/exports/v1/exports`, {
      method: 'POST',
      headers: { 'x-user': 'dave', 'content-type': 'application/json' },
      body: JSON.stringify({ dataset: 'numbers', format: 'csv', params: { n: 3 } }),
    });
    expect(exported.status).toBe(200);
    expect(parse(await exported.text(), { columns: true })).toHaveLength(3);
    expect((await fetch(`${base}/exports/v1/datasets`, { headers: { 'x-user': 'dave' } })).status).toBe(200);
    const refused = await fetch(`${base}/exports/v1/datasets`);
    expect(refused.status).toBe(401);
  });

  it('refuses a storage whose download links would point outside the mount path', async () => {
    await expect(
      takeoutHandler({
        datasets: jobs.service.datasets,
        storage: jobs.service.storage,
        prefix: '/api/takeout',
        authenticate: () => ({ id: 'x' }),
      }),
    ).rejects.toMatchObject({
      code: 'config_error',
      message: expect.stringContaining('baseUrl "/api/takeout"'),
    });
  });
});
