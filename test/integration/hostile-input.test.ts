/**
 * The hostile input corpus (test/support/hostile-corpus.ts) against a real server on
 * loopback with background jobs: every case gets its 4xx problem+json with a documented
 * code (or, for input that is legal but nasty, a safe answer), the server keeps answering,
 * and nothing already stored changes: a finished export's file bytes, the storage listing
 * and the job record are compared before and after.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerTokens } from '../../src/auth.js';
import { defineDataset } from '../../src/datasets/define.js';
import { filesRoutes } from '../../src/http/routes/files.js';
import { buildServer, serviceServerOptions } from '../../src/http/server.js';
import type { DiskStorage } from '../../src/storage/disk.js';
import { HOSTILE_CASES, type HostileAnswer, SECRET_TABLE } from '../support/hostile-corpus.js';
import { type TestService, testService } from '../support/jobs.js';

const TOKEN = 'hostile-token-0123456789';
const OTHER = 'other-token-0123456789ab';

/** The codes docs/errors.md lists. */
const DOCUMENTED = new Set(
  [...readFileSync(join(__dirname, '../../docs/errors.md'), 'utf8').matchAll(/^\| `([a-z_]+)`/gm)].map(
    (m) => m[1],
  ),
);

/** A raw request: exactly these bytes and headers (fetch would fix what the corpus breaks on purpose). */
function send(
  port: number,
  request: { method: string; path: string; headers: Record<string, string>; body?: string | Buffer },
): Promise<HostileAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method: request.method, path: request.path, headers: request.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const type = String(res.headers['content-type'] ?? '');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            problem: /json/.test(type) && body.length > 0 ? JSON.parse(body.toString()) : undefined,
          });
        });
      },
    );
    // The server may answer (413) and close before it read everything.
    req.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error),
    );
    req.end(request.body);
  });
}

describe('hostile input corpus', () => {
  let jobs: TestService;
  let app: FastifyInstance;
  let port: number;
  let dbFile: string;
  let storedId: string;

  /** Everything stored: each file's key and SHA-256, the finished job's record, the table. */
  async function snapshot() {
    const files: string[] = [];
    for await (const item of jobs.service.storage.list('')) {
      const body = await jobs.service.storage.read(item.key);
      const hash = createHash('sha256');
      for await (const chunk of body!) hash.update(chunk);
      files.push(`${item.key} ${item.size} ${hash.digest('hex')}`);
    }
    const job = await jobs.service.jobs.store.get(storedId);
    const db = new Database(dbFile, { readonly: true });
    const table = db.prepare(`SELECT * FROM ${SECRET_TABLE} ORDER BY id`).all();
    db.close();
    return { files: files.sort(), job, table };
  }

  beforeAll(async () => {
    jobs = await testService({}, {});
    dbFile = join(jobs.dir, 'items.sqlite');
    const db = new Database(dbFile);
    db.exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, country TEXT, day TEXT);
      CREATE TABLE ${SECRET_TABLE} (id INTEGER PRIMARY KEY, secret TEXT);
      INSERT INTO ${SECRET_TABLE} (secret) VALUES ('do-not-leak');`);
    const insert = db.prepare('INSERT INTO items (name, country, day) VALUES (?, ?, ?)');
    for (let i = 0; i < 40; i++)
      insert.run(`item ${i}`, i % 2 ? 'DE' : 'FR', `2024-01-${String((i % 28) + 1).padStart(2, '0')}`);
    db.close();
    jobs.service.datasets.add(
      defineDataset({
        name: 'items',
        connection: { sqlite: dbFile },
        sql: 'SELECT id, name, country, day FROM items WHERE (:name IS NULL OR name = :name) AND country = :country AND day >= :since LIMIT :n',
        params: {
          name: { type: 'string', maxLength: 100 },
          country: { type: 'string', enum: ['DE', 'FR'], default: 'DE' },
          since: { type: 'date', default: '2000-01-01', min: '1900-01-01', max: '2100-12-31' },
          n: { type: 'integer', default: 20, min: 1, max: 1000 },
        },
      }),
    );
    const { service } = jobs;
    app = await buildServer({
      ...serviceServerOptions(service),
      authenticate: bearerTokens(
        new Map([
          [TOKEN, { id: 'alice' }],
          [OTHER, { id: 'mallory' }],
        ]),
      ),
      plugins: [
        async (scope) => {
          await scope.register(filesRoutes, { storage: service.storage as DiskStorage });
        },
      ],
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    port = typeof address === 'object' && address ? address.port : 0;
    await service.jobs.startWorker({ concurrency: 1 });
    const created = await send(port, {
      method: 'POST',
      path: '/v1/exports',
      headers: {
        authorization: `Bearer ${TOKEN}`,
        'content-type': 'application/json',
        prefer: 'respond-async',
      },
      body: JSON.stringify({ dataset: 'items', format: 'csv', params: { country: 'FR' } }),
    });
    expect(created.status).toBe(202);
    storedId = (created.problem as { id: string }).id;
    await jobs.until(storedId, (job) => job.status === 'succeeded');
  });
  afterAll(async () => {
    await app?.close();
    await jobs?.close();
  });

  it('answers every case as the table says, stays up, and changes nothing stored', async () => {
    const before = await snapshot();
    expect(before.files.length).toBeGreaterThan(0);
    const seen: string[] = [];
    for (const entry of HOSTILE_CASES) {
      const request = entry.request({ storedId });
      const answer = await send(port, {
        method: request.method ?? 'POST',
        path: request.path ?? '/v1/exports',
        headers: {
          authorization: `Bearer ${request.token ?? TOKEN}`,
          ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...request.headers,
        },
        ...(request.body !== undefined ? { body: request.body } : {}),
      });
      const where = `${entry.name}: ${answer.status} ${answer.body.subarray(0, 300).toString()}`;
      if ('code' in entry.expect) {
        expect.soft(answer.status, where).toBeGreaterThanOrEqual(400);
        expect.soft(answer.status, where).toBeLessThan(500);
        expect.soft(answer.headers['content-type'], where).toMatch(/^application\/problem\+json/);
        expect.soft(answer.problem?.code, where).toBe(entry.expect.code);
        expect.soft(answer.problem?.status, where).toBe(answer.status);
        expect.soft(DOCUMENTED.has(entry.expect.code), `${entry.expect.code} in docs/errors.md`).toBe(true);
        // Problems never echo internals.
        expect.soft(answer.body.toString(), where).not.toMatch(/do-not-leak|SELECT |at .*\.ts:\d+/);
      } else {
        expect.soft(answer.status, where).toBe(entry.expect.status);
        if (answer.status === entry.expect.status) entry.expect.check?.(answer);
      }
      // Still up after each case.
      const health = await send(port, { method: 'GET', path: '/healthz', headers: {} });
      expect(health.status, `after ${entry.name}`).toBe(200);
      seen.push(entry.name);
    }
    expect(seen).toHaveLength(HOSTILE_CASES.length);
    expect(await snapshot()).toEqual(before);
    // The stored export still downloads, byte for byte as recorded.
    const download = await send(port, {
      method: 'GET',
      path: `/v1/exports/${storedId}/download`,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(download.status).toBe(303);
    const file = await send(port, { method: 'GET', path: String(download.headers.location), headers: {} });
    expect(createHash('sha256').update(file.body).digest('hex')).toBe(before.job?.result?.sha256);
  });
});
