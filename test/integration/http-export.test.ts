import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as XLSX from 'xlsx';
import { unauthorized } from '../../src/auth.js';
import { defineDataset } from '../../src/datasets/define.js';
import { DatasetRegistry } from '../../src/datasets/registry.js';
import { demoOrdersDataset, ensureDemoDatabase } from '../../src/demo/orders.js';
import { bearerTokens } from '../../src/http/auth.js';
import { buildServer, takeoutRoutes } from '../../src/http/server.js';
import { rowsSource } from '../../src/sources/rows.js';

const TOKEN_A = 'token-aaaaaaaaaaaaaaaa';
const TOKEN_B = 'token-bbbbbbbbbbbbbbbb';
const TOTAL = 1_000_000;
const progress = { produced: 0, finished: false };

async function* countingRows() {
  progress.produced = 0;
  progress.finished = false;
  try {
    for (let i = 0; i < TOTAL; i++) {
      progress.produced++;
      yield { id: i, text: `row ${i} with some padding to make the line longer than a few bytes` };
    }
  } finally {
    progress.finished = true;
  }
}

let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'takeout-http-'));
  const registry = new DatasetRegistry([
    demoOrdersDataset(ensureDemoDatabase(dir, 5_000)),
    defineDataset({ name: 'counting', source: () => rowsSource(countingRows()) }),
    defineDataset({
      name: 'mine',
      // The scope binds :owner from the principal; a request can never set it.
      source: ({ params }) => rowsSource([{ owner: params.owner }]),
      scope: { owner: 'id' },
    }),
  ]);
  app = await buildServer({
    datasets: registry,
    authenticate: bearerTokens(
      new Map([
        [TOKEN_A, { id: 'alice' }],
        [TOKEN_B, { id: 'bob' }],
      ]),
    ),
    syncMaxRows: 200_000,
    bodyLimit: 64 * 1024,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await app?.close();
});

function post(body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${base}/v1/exports`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN_A}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function problem(response: Response) {
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  return (await response.json()) as {
    code: string;
    status: number;
    title: string;
    detail: string;
    [k: string]: unknown;
  };
}

describe('POST /v1/exports (sync)', () => {
  it('streams inline rows back as CSV with download headers', async () => {
    const response = await post({
      rows: [
        { id: 1, name: 'Zoë, "the" first', note: '=1+2' },
        { id: 2, name: 'Ω 🚀', note: null },
      ],
      format: 'csv',
      filename: 'Report "Q1"\r\n/../Ünïcode ‮evil.csv',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const disposition = response.headers.get('content-disposition')!;
    expect(disposition).toMatch(/^attachment; filename="[\x20-\x7e]+"; filename\*=UTF-8''/);
    expect(disposition).not.toMatch(/[\r\n\u202e]/);
    expect(disposition).not.toContain('/');
    expect(decodeURIComponent(disposition.split("filename*=UTF-8''")[1]!)).toContain('Ünïcode');
    const records = parse(await response.text(), { columns: true });
    expect(records).toEqual([
      { id: '1', name: 'Zoë, "the" first', note: "'=1+2" },
      { id: '2', name: 'Ω 🚀', note: '' },
    ]);
  });

  it('answers a small file whole (CSV or XLSX), with Content-Length; a larger one is streamed', async () => {
    const small = await post({ dataset: 'orders', format: 'csv', params: { country: 'DE' } });
    expect(small.status).toBe(200);
    const bytes = Buffer.from(await small.arrayBuffer());
    expect(small.headers.get('transfer-encoding')).toBeNull();
    expect(Number(small.headers.get('content-length'))).toBe(bytes.byteLength);
    expect(parse(bytes, { columns: true }).length).toBeGreaterThan(10);

    // An XLSX file comes as many small chunks (its parts): whole too, unless a busy machine
    // made a pause of more than 50 ms between two of them (test/unit/sync-exchange.test.ts
    // checks that without depending on the machine).
    const book = await post({ dataset: 'orders', format: 'xlsx', params: { country: 'DE' } });
    expect(book.status).toBe(200);
    const workbook = Buffer.from(await book.arrayBuffer());
    const length = book.headers.get('content-length');
    if (length !== null) expect(Number(length)).toBe(workbook.byteLength);
    const sheet = XLSX.read(workbook, { type: 'buffer' });
    expect(XLSX.utils.sheet_to_json(sheet.Sheets[sheet.SheetNames[0]!]!).length).toBe(
      parse(bytes, { columns: true }).length,
    );

    const large = await post({ dataset: 'orders', format: 'csv' });
    expect(large.status).toBe(200);
    const text = await large.text();
    expect(large.headers.get('content-length')).toBeNull();
    expect(large.headers.get('transfer-encoding')).toBe('chunked');
    expect(Buffer.byteLength(text)).toBeGreaterThan(256 * 1024);
    expect(parse(text, { columns: true })).toHaveLength(5_000);
  });

  it('exports a dataset with typed params as JSON', async () => {
    const response = await post({
      dataset: 'orders',
      format: 'json',
      params: { country: 'DE', min_amount: '100' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toMatch(/filename="orders-\d{8}-\d{6}\.json"/);
    const rows = (await response.json()) as {
      country: string;
      amount: number;
      paid: boolean;
      shipped_at: string | null;
    }[];
    expect(rows.length).toBeGreaterThan(10);
    for (const row of rows) {
      expect(row.country).toBe('DE');
      expect(row.amount).toBeGreaterThanOrEqual(100);
      expect(typeof row.paid).toBe('boolean');
      if (row.shipped_at !== null) expect(row.shipped_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    }
  });

  it('picks and renames dataset columns and renders datetimes in the requested zone', async () => {
    const response = await post({
      dataset: 'orders',
      format: 'csv',
      columns: ['id', { key: 'shipped_at', header: 'Shipped' }],
      timezone: 'Asia/Kolkata',
      params: { to: '2022-03-01' },
    });
    expect(response.status).toBe(200);
    const records = parse(await response.text(), { columns: true }) as { ID: string; Shipped: string }[];
    expect(Object.keys(records[0]!)).toEqual(['ID', 'Shipped']);
    const shipped = records.find((r) => r.Shipped !== '')!.Shipped;
    expect(shipped).toMatch(/\+05:30$/);
  });

  it('starts the response before the source is exhausted, and stops it when the client leaves', async () => {
    const controller = new AbortController();
    const response = await post({ dataset: 'counting', format: 'csv' }, {});
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(first.value!.byteLength).toBeGreaterThan(0);
    expect(progress.produced).toBeLessThan(TOTAL / 2);
    await reader.cancel();
    controller.abort();
    await expect.poll(() => progress.finished, { timeout: 5000 }).toBe(true);
    expect(progress.produced).toBeLessThan(TOTAL);
  });

  it('binds scope from the principal and refuses it from the request', async () => {
    const mine = await post({ dataset: 'mine', format: 'json' });
    expect(await mine.json()).toEqual([{ owner: 'alice' }]);
    const forged = await post({ dataset: 'mine', format: 'json', params: { owner: 'bob' } });
    expect(forged.status).toBe(400);
    expect((await problem(forged)).code).toBe('invalid_params');
  });

  it.each([
    ['unknown format', { rows: [{ a: 1 }], format: 'pdf' }, 400, 'unknown_format'],
    ['unknown dataset', { dataset: 'nope', format: 'csv' }, 404, 'unknown_dataset'],
    [
      'wrong param type',
      { dataset: 'orders', format: 'csv', params: { min_amount: 'lots' } },
      400,
      'invalid_params',
    ],
    [
      'out-of-range param',
      { dataset: 'orders', format: 'csv', params: { from: '1999-12-31' } },
      400,
      'invalid_params',
    ],
    ['unknown param', { dataset: 'orders', format: 'csv', params: { drop: 'table' } }, 400, 'invalid_params'],
    [
      'enum param',
      { dataset: 'orders', format: 'csv', params: { country: "DE' OR 1=1 --" } },
      400,
      'invalid_params',
    ],
    ['rows not objects', { rows: [1, 2], format: 'csv' }, 400, 'invalid_rows'],
    ['rows mixed', { rows: [{ a: 1 }, [1]], format: 'csv' }, 400, 'invalid_rows'],
    ['rows not an array', { rows: 'a,b', format: 'csv' }, 400, 'invalid_rows'],
    ['array rows without columns', { rows: [[1, 2]], format: 'csv' }, 400, 'invalid_columns'],
    ['both rows and dataset', { rows: [], dataset: 'orders', format: 'csv' }, 400, 'invalid_request'],
    ['missing format', { rows: [{ a: 1 }] }, 400, 'invalid_request'],
    ['unknown member', { rows: [{ a: 1 }], format: 'csv', colums: [] }, 400, 'invalid_request'],
    ['bad time zone', { rows: [{ a: 1 }], format: 'csv', timezone: 'Mars/Olympus' }, 400, 'invalid_timezone'],
    [
      'bad delimiter',
      { rows: [{ a: 1 }], format: 'csv', options: { delimiter: '""' } },
      400,
      'invalid_option',
    ],
    [
      'unknown dataset column',
      { dataset: 'orders', format: 'csv', columns: ['password'] },
      400,
      'invalid_columns',
    ],
  ])('%s', async (_name, body, status, code) => {
    const response = await post(body);
    expect(response.status).toBe(status);
    const doc = await problem(response);
    expect(doc).toMatchObject({ status, code });
    expect(doc.type).toBe(`https://takeout.dev/errors/${code}`);
  });

  it('rejects invalid JSON, other media types and large bodies with problems', async () => {
    expect((await problem(await post('{"rows": ['))).code).toBe('invalid_json');
    const text = await post('format=csv', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect((await problem(text)).code).toBe('unsupported_media_type');
    // Read as UTF-8, a body in another charset would be something else than was sent.
    const utf16 = await post('{"dataset":"orders","format":"csv"}', {
      'content-type': 'application/json; charset=utf-16',
    });
    expect(utf16.status).toBe(415);
    expect(await problem(utf16)).toMatchObject({
      code: 'unsupported_media_type',
      detail: expect.stringMatching(/UTF-8/),
    });
    const utf8 = await post('{"dataset":"orders","format":"csv","params":{"country":"DE"}}', {
      'content-type': 'application/json; charset="UTF-8"',
    });
    expect(utf8.status).toBe(200);
    await utf8.arrayBuffer();
    // Valid JSON, refused for what it would do to Object.prototype: the answer says so.
    const proto = await post('{"dataset":"orders","format":"csv","__proto__":{"admin":true}}');
    expect(await problem(proto)).toMatchObject({
      code: 'invalid_json',
      detail: expect.stringMatching(/__proto__/),
    });
    const big = await post({
      rows: Array.from({ length: 5000 }, (_, i) => ({ i, pad: 'x'.repeat(20) })),
      format: 'csv',
    });
    expect(big.status).toBe(413);
    // The limit, in bytes, said in the problem (the server's bodyLimit is 64 KiB here).
    expect(await problem(big)).toMatchObject({
      code: 'body_too_large',
      limit: 64 * 1024,
      detail: 'The request body is larger than 65536 bytes',
    });
  });

  it('refuses an export above the sync limit with its own code, before streaming', async () => {
    const small = await buildServer({
      datasets: new DatasetRegistry([
        demoOrdersDataset(ensureDemoDatabase(mkdtempSync(join(tmpdir(), 'tk-')), 2_000)),
      ]),
      syncMaxRows: 1_000,
    });
    const response = await small.inject({
      method: 'POST',
      url: '/v1/exports',
      payload: { dataset: 'orders', format: 'csv' },
    });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toMatchObject({ code: 'sync_limit_exceeded', limit: 1000 });
    const narrowed = await small.inject({
      method: 'POST',
      url: '/v1/exports',
      payload: { dataset: 'orders', format: 'csv', params: { to: '2022-03-01' } },
    });
    expect(narrowed.statusCode).toBe(200);
    await small.close();
  });

  it('names an unknown column, the one it was likely meant to be, and the columns there are', async () => {
    const response = await post({ dataset: 'orders', format: 'csv', columns: ['id', 'custommer'] });
    expect(response.status).toBe(400);
    const doc = await problem(response);
    expect(doc.code).toBe('invalid_columns');
    expect(doc.detail).toMatch(
      /^columns\[1\] "custommer" is not a column of this dataset \(did you mean customer\?\); its columns: id, /,
    );
    expect(doc).toMatchObject({ columns: expect.arrayContaining(['id', 'customer']) });
  });

  it('refuses an XLSX export that needs more than 1,000 sheets before its first byte', async () => {
    // 5,000 counted orders at one data row per sheet: it used to answer 200 and cut the
    // download after the 1,000th sheet.
    const counted = await post({ dataset: 'orders', format: 'xlsx', options: { maxRowsPerSheet: 2 } });
    expect(counted.status).toBe(422);
    expect(await problem(counted)).toMatchObject({
      code: 'too_many_sheets',
      limit: 1000,
      max_rows_per_sheet: 2,
    });
    // Rows handed over are counted too; exactly 1,000 sheets still fit.
    const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i + 1 }));
    const over = await post({ rows: rows(1_001), format: 'xlsx', options: { maxRowsPerSheet: 2 } });
    expect(over.status).toBe(422);
    expect(await problem(over)).toMatchObject({ code: 'too_many_sheets' });
    const fits = await post({ rows: rows(1_000), format: 'xlsx', options: { maxRowsPerSheet: 2 } });
    expect(fits.status).toBe(200);
    const book = XLSX.read(new Uint8Array(await fits.arrayBuffer()), { type: 'array', bookSheets: true });
    expect(book.SheetNames).toHaveLength(1_000);
    // Without a header row a sheet holds two rows: 2,000 fit.
    const headless = await post({
      rows: rows(2_000),
      format: 'xlsx',
      options: { maxRowsPerSheet: 2, header: false },
    });
    expect(headless.status).toBe(200);
    await headless.arrayBuffer();
  });

  it('answers 401 without a token and 404 problems for unknown routes', async () => {
    const anonymous = await fetch(`${base}/v1/exports`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    expect((await problem(anonymous)).code).toBe('unauthorized');
    // Authentication comes before the body is read: no token, no parsing of a large body.
    const bigAnonymous = await fetch(`${base}/v1/exports`, {
      method: 'POST',
      body: JSON.stringify({
        rows: Array.from({ length: 5000 }, (_, i) => ({ i, pad: 'x'.repeat(20) })),
        format: 'csv',
      }),
      headers: { 'content-type': 'application/json' },
    });
    expect(bigAnonymous.status).toBe(401);
    const missing = await fetch(`${base}/v1/nothing`, { headers: { authorization: `Bearer ${TOKEN_B}` } });
    expect(missing.status).toBe(404);
    expect((await problem(missing)).code).toBe('not_found');
  });
});

describe('limits and embedding', () => {
  it('streams with unbounded sync limits (Infinity, as a library caller may set them)', async () => {
    const unbounded = await buildServer({
      datasets: new DatasetRegistry([]),
      syncMaxRows: Number.POSITIVE_INFINITY,
      syncMaxCells: Number.POSITIVE_INFINITY,
      syncMaxBytes: Number.POSITIVE_INFINITY,
    });
    const response = await unbounded.inject({
      method: 'POST',
      url: '/v1/exports',
      payload: { rows: [{ a: 1 }, { a: 2 }], format: 'csv' },
    });
    await unbounded.close();
    expect(response.statusCode, response.body).toBe(200);
    expect(response.body).toBe('a\r\n1\r\n2\r\n');
  });

  it('refuses exports with too many cells, and more exports at once than allowed', async () => {
    const registry = new DatasetRegistry([
      defineDataset({ name: 'counting', source: () => rowsSource(countingRows()) }),
    ]);
    const limited = await buildServer({ datasets: registry, syncMaxCells: 100, syncConcurrency: 1 });
    const wide = await limited.inject({
      method: 'POST',
      url: '/v1/exports',
      payload: { rows: Array.from({ length: 30 }, () => ({ a: 1, b: 2, c: 3, d: 4 })), format: 'csv' },
    });
    expect(wide.statusCode).toBe(413);
    expect(wide.json()).toMatchObject({ code: 'sync_limit_exceeded', cell_limit: 100 });
    await limited.close();
    const busy = await buildServer({ datasets: registry, syncConcurrency: 1 });
    await busy.listen({ host: '127.0.0.1', port: 0 });
    const address = busy.server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/v1/exports`;
    const init = {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dataset: 'counting', format: 'csv' }),
    };
    const first = await fetch(url, init);
    const reader = first.body!.getReader();
    await reader.read();
    const second = await fetch(url, init);
    expect(second.status).toBe(503);
    expect(second.headers.get('retry-after')).toBe('5');
    expect((await problem(second)).code).toBe('too_busy');
    await reader.cancel();
    await expect
      .poll(
        async () =>
          (await fetch(url, { ...init, body: JSON.stringify({ rows: [{ a: 1 }], format: 'csv' }) })).status,
      )
      .toBe(200);
    // undici keeps the socket of a cancelled body open; the server has already let go of it.
    busy.server.closeAllConnections();
    await busy.close();
  });

  it('answers an export cut by the shutdown before its first byte with too_busy and Retry-After', async () => {
    let started: () => void = () => {};
    const waiting = new Promise<void>((resolve) => {
      started = resolve;
    });
    async function* stalled() {
      started();
      await new Promise(() => {}); // no row until the export is aborted
      yield { a: 1 };
    }
    const registry = new DatasetRegistry([
      defineDataset({ name: 'stalled', source: () => rowsSource(stalled()) }),
    ]);
    const closing = await buildServer({ datasets: registry });
    await closing.listen({ host: '127.0.0.1', port: 0 });
    const address = closing.server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/v1/exports`;
    const answer = fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dataset: 'stalled', format: 'csv' }),
    });
    await waiting;
    const closedAt = Date.now();
    const closed = closing.close();
    const response = await answer;
    // At once: the source stuck in its read is closed after the answer (the slot waits for it).
    expect(Date.now() - closedAt).toBeLessThan(2500);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect((await problem(response)).code).toBe('too_busy');
    closing.server.closeAllConnections();
    await closed;
  });

  it('answers a request that reaches a closing server with a too_busy problem, not Fastify JSON', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const closing = await buildServer({
      datasets: new DatasetRegistry([]),
      plugins: [
        (scope) => {
          scope.get('/held', async () => {
            await held;
            return { ok: true };
          });
        },
      ],
    });
    await closing.listen({ host: '127.0.0.1', port: 0 });
    const address = closing.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    // A kept-alive connection: its second request is sent once the first is answered, after
    // the close has begun.
    const socket = connect(port, '127.0.0.1');
    const host = `Host: 127.0.0.1:${port}\r\n`;
    let received = '';
    socket.on('data', (chunk) => {
      if (received === '') socket.write(`GET /v1/datasets HTTP/1.1\r\n${host}\r\n`);
      received += chunk;
    });
    const ended = new Promise((resolve) => socket.on('close', resolve));
    socket.write(`GET /held HTTP/1.1\r\n${host}\r\n`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const closed = closing.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    await ended;
    await closed;
    const answers = received.split(/(?=HTTP\/1\.1 )/);
    expect(answers).toHaveLength(2);
    expect(answers[0]).toMatch(/^HTTP\/1\.1 200/);
    expect(answers[1]).toMatch(/^HTTP\/1\.1 503/);
    expect(answers[1]).toMatch(/\r\ncontent-type: application\/problem\+json/i);
    expect(answers[1]).toMatch(/\r\nretry-after: 5\r\n/i);
    expect(answers[1]).toMatch(/"code":"too_busy"/);
  });

  it('leaves the error handling of the host application alone', async () => {
    const Fastify = (await import('fastify')).default;
    const host = Fastify();
    host.setErrorHandler((_error, _request, reply) => reply.code(418).send({ host: true }));
    host.get('/mine', async () => {
      throw new Error('host failure');
    });
    await host.register((scope) => takeoutRoutes(scope, { datasets: new DatasetRegistry() }));
    const mine = await host.inject({ method: 'GET', url: '/mine' });
    expect(mine.statusCode).toBe(418);
    expect(mine.json()).toEqual({ host: true });
    const takeout = await host.inject({
      method: 'POST',
      url: '/v1/exports',
      payload: { rows: [], format: 'pdf' },
    });
    expect(takeout.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(takeout.json()).toMatchObject({ code: 'unknown_format' });
    await host.close();
  });
});

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the host's own hook in the test below. */
    hostUser?: { id: string; org: string };
  }
}

describe('takeoutRoutes in a host app with its own authentication', () => {
  it('hands the host’s authenticate the whole Fastify request, with what its hooks set', async () => {
    const Fastify = (await import('fastify')).default;
    const host = Fastify();
    host.decorateRequest('hostUser', undefined);
    host.addHook('onRequest', async (request) => {
      if (request.headers['x-session'] === 's-carol') request.hostUser = { id: 'carol', org: 'acme' };
    });
    const mine = defineDataset({
      name: 'mine',
      columns: [{ key: 'a', type: 'integer' }],
      source: () => rowsSource([{ a: 1 }]),
    });
    await host.register((scope) =>
      takeoutRoutes(scope, {
        datasets: new DatasetRegistry([mine]),
        // Typed as the host's request: no cast needed to read what its hook set.
        authenticate: (request: FastifyRequest) => {
          if (!request.hostUser) throw unauthorized();
          return { id: request.hostUser.id, tenant: request.hostUser.org };
        },
      }),
    );
    const listed = await host.inject({
      method: 'GET',
      url: '/v1/datasets',
      headers: { 'x-session': 's-carol' },
    });
    expect(listed.statusCode).toBe(200);
    expect(listed.json().datasets.map((d: { name: string }) => d.name)).toEqual(['mine']);
    const refused = await host.inject({ method: 'GET', url: '/v1/datasets' });
    expect(refused.statusCode).toBe(401);
    await host.close();
  });
});

describe('GET /v1/datasets', () => {
  it('lists datasets with params and columns, never SQL', async () => {
    const response = await fetch(`${base}/v1/datasets`, { headers: { authorization: `Bearer ${TOKEN_A}` } });
    const body = (await response.json()) as { datasets: Record<string, unknown>[] };
    const orders = body.datasets.find((d) => d.name === 'orders')!;
    expect(orders.params).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'country', type: 'string' })]),
    );
    expect(orders.columns).toEqual(
      expect.arrayContaining([expect.objectContaining({ key: 'amount', type: 'decimal' })]),
    );
    expect(JSON.stringify(body)).not.toMatch(/SELECT|sqlite/i);
  });
});
