/**
 * The async export API over real HTTP, for every deployment shape: call
 * `apiContract(name, makeHarness)` from an integration test file. A server on loopback with
 * a running worker; two principals, alice and bob.
 */
import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerTokens } from '../../src/auth.js';
import { filesRoutes } from '../../src/http/routes/files.js';
import { EVENT_STREAMS_PER_PRINCIPAL } from '../../src/http/routes/jobs.js';
import { buildServer, serviceServerOptions } from '../../src/http/server.js';
import type { ExportQueue } from '../../src/jobs/queue/types.js';
import type { DiskStorage } from '../../src/storage/disk.js';
import type { Storage } from '../../src/storage/types.js';
import { numbersDataset, type TestService, testService, waitingDataset } from '../support/jobs.js';
import { independentRowCount } from '../support/read-export.js';
import { readEvents } from '../support/sse.js';

export interface ApiHarness {
  env: NodeJS.ProcessEnv;
  /** Whether the file server checks link signatures (s3rver does not; disk and S3 do). */
  checksSignatures: boolean;
  storage?: Storage;
  queue?: ExportQueue;
  cleanup(): Promise<void>;
}

const ALICE = 'token-alice-aaaaaaaaaaaa';
const BOB = 'token-bob-bbbbbbbbbbbbbbbb';
const CAROL = 'token-carol-cccccccccccccc';
/** Queued + running exports one owner may have (TAKEOUT_JOB_MAX_ACTIVE_PER_OWNER). */
const MAX_ACTIVE = 4;
const SYNC_MAX_ROWS = 100;

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

export function apiContract(name: string, makeHarness: () => Promise<ApiHarness>): void {
  describe(`async export API: ${name}`, () => {
    let harness: ApiHarness;
    let jobs: TestService;
    let app: FastifyInstance;
    let base: string;
    /** The lines the server logged (pino JSON), for what an operator would see. */
    const logged: Record<string, unknown>[] = [];

    async function call(
      path: string,
      init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {},
    ): Promise<Answer> {
      const response = await fetch(base + path, {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        redirect: 'manual',
        headers: {
          authorization: `Bearer ${init.token ?? ALICE}`,
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...init.headers,
        },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });
      const text = await response.text();
      const json = response.headers.get('content-type')?.includes('json') && text ? JSON.parse(text) : {};
      return { status: response.status, headers: response.headers, body: json };
    }

    /** Creates a job for `n` rows of `dataset` and returns its document. */
    async function startJob(body: Record<string, unknown>, token = ALICE) {
      const answer = await call('/v1/exports', { body, token, headers: { prefer: 'respond-async' } });
      expect(answer.status).toBe(202);
      return answer.body as { id: string; status: string; links: Record<string, string> };
    }

    async function finished(id: string, token = ALICE) {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const answer = await call(`/v1/exports/${id}`, { token });
        const status = answer.body.status as string;
        if (['succeeded', 'failed', 'canceled', 'expired'].includes(status)) return answer.body;
        if (Date.now() > deadline) throw new Error(`export ${id} still ${status}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }

    /** Follows the download route's 303 to the signed link and returns the file's bytes. */
    async function download(id: string): Promise<Buffer> {
      const answer = await call(`/v1/exports/${id}/download`);
      expect(answer.status).toBe(303);
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(answer.headers.get('referrer-policy')).toBe('no-referrer');
      const link = new URL(answer.headers.get('location')!, base);
      const file = await fetch(link);
      expect(file.status).toBe(200);
      return Buffer.from(await file.arrayBuffer());
    }

    beforeAll(async () => {
      harness = await makeHarness();
      jobs = await testService(
        {
          TAKEOUT_SYNC_MAX_ROWS: String(SYNC_MAX_ROWS),
          TAKEOUT_JOB_LEASE: '5',
          TAKEOUT_JOB_MAX_ACTIVE_PER_OWNER: String(MAX_ACTIVE),
          ...harness.env,
        },
        {
          datasets: [
            numbersDataset('numbers', 50),
            numbersDataset('slow', 20_000, 150),
            waitingDataset('waiting', 4000),
          ],
          ...(harness.storage ? { storage: harness.storage } : {}),
          ...(harness.queue ? { queue: harness.queue } : {}),
        },
      );
      const { service } = jobs;
      app = await buildServer({
        ...serviceServerOptions(service),
        logger: { level: 'info', stream: { write: (line: string) => logged.push(JSON.parse(line)) } },
        authenticate: bearerTokens(
          new Map([
            [ALICE, { id: 'alice', tenant: 'acme' }],
            [BOB, { id: 'bob', tenant: 'acme' }],
            [CAROL, { id: 'carol', tenant: 'acme' }],
          ]),
        ),
        plugins:
          service.storage.kind === 'file'
            ? [
                async (scope) => {
                  await scope.register(filesRoutes, { storage: service.storage as DiskStorage });
                },
              ]
            : [],
      });
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address();
      base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      await service.jobs.startWorker({ concurrency: 2 });
    });
    afterAll(async () => {
      await app?.close();
      await jobs?.close();
      await harness?.cleanup();
    });

    it('streams exports within the sync limit and makes a job of one row more', async () => {
      const small = await fetch(`${base}/v1/exports`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ALICE}`, 'content-type': 'application/json' },
        body: JSON.stringify({ dataset: 'numbers', format: 'csv', params: { n: SYNC_MAX_ROWS } }),
      });
      expect(small.status).toBe(200);
      expect(parse(await small.text(), { columns: true })).toHaveLength(SYNC_MAX_ROWS);

      const large = await call('/v1/exports', {
        body: { dataset: 'numbers', format: 'csv', params: { n: SYNC_MAX_ROWS + 1 } },
      });
      expect(large.status).toBe(202);
      const id = large.body.id as string;
      expect(id).toMatch(/^exp_/);
      expect(large.headers.get('location')).toBe(`/v1/exports/${id}`);
      expect(Number(large.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(large.body.status).toBe('queued');
      const done = await finished(id);
      expect(done.status).toBe('succeeded');
      expect((done.result as { row_count: number }).row_count).toBe(SYNC_MAX_ROWS + 1);

      // Inline rows: their count is known before anything runs; a job stages them.
      const rows = Array.from({ length: SYNC_MAX_ROWS + 1 }, (_, i) => ({ i, text: `r${i}` }));
      const inline = await call('/v1/exports', { body: { rows, format: 'csv' } });
      expect(inline.status).toBe(202);
      const inlineDone = await finished(inline.body.id as string);
      expect(inlineDone.status).toBe('succeeded');
      const parsed = parse(await download(inline.body.id as string), { columns: true }) as { i: string }[];
      expect(parsed.map((r) => Number(r.i))).toEqual(rows.map((r) => r.i));
    });

    it('creates a job for Prefer: respond-async while the sync slots are all taken', async () => {
      // Three streamed exports hold the caller's sync slots (TAKEOUT_SYNC_PER_PRINCIPAL).
      const held = [0, 1, 2].map(() =>
        fetch(`${base}/v1/exports`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ALICE}`, 'content-type': 'application/json' },
          body: JSON.stringify({ dataset: 'waiting', format: 'csv' }),
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const body = { dataset: 'numbers', format: 'csv', params: { n: 10 } };
      const streamed = await call('/v1/exports', { body });
      expect(streamed.status).toBe(429);
      expect(streamed.body.code).toBe('too_many_exports');
      // A job streams nothing: it takes no slot.
      const job = await startJob(body);
      expect((await finished(job.id)).status).toBe('succeeded');
      for (const response of await Promise.all(held)) {
        expect(response.status).toBe(200);
        expect(parse(await response.text(), { columns: true })).toHaveLength(10);
      }
    });

    it('downloads exactly the bytes the job recorded, through a freshly signed link', async () => {
      const job = await startJob({ dataset: 'numbers', format: 'csv', params: { n: 500 } });
      const done = await finished(job.id);
      const result = done.result as { sha256: string; size_bytes: number; row_count: number };
      const bytes = await download(job.id);
      expect(bytes.length).toBe(result.size_bytes);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(result.sha256);
      expect(parse(bytes, { columns: true })).toHaveLength(result.row_count);
      // No signed link in the job document, ever.
      expect(JSON.stringify(done)).not.toMatch(/sig=|X-Amz-Signature|\/files\//i);
    });

    it('gives the signed link as JSON on the link route, to the owner only', async () => {
      const job = await startJob({ dataset: 'numbers', format: 'csv', params: { n: 200 } });
      const done = await finished(job.id);
      const result = done.result as { sha256: string };
      const before = Date.now();
      expect(job.links.link).toMatch(new RegExp(`/v1/exports/${job.id}/link$`));
      const answer = await call(`/v1/exports/${job.id}/link`);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(answer.headers.get('referrer-policy')).toBe('no-referrer');
      expect(Object.keys(answer.body).sort()).toEqual(['expires_at', 'url']);
      expect(Date.parse(answer.body.expires_at as string)).toBeGreaterThan(before);
      const file = await fetch(new URL(answer.body.url as string, base));
      expect(file.status).toBe(200);
      const bytes = Buffer.from(await file.arrayBuffer());
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(result.sha256);
      // Whatever the client accepts, the download route still redirects.
      const redirect = await call(`/v1/exports/${job.id}/download`, {
        headers: { accept: 'application/json' },
      });
      expect(redirect.status).toBe(303);
    });

    it('gives byte-identical files for the same export asked sync and async, in every format', async () => {
      const formats = ['csv', 'tsv', 'json', 'ndjson', 'xlsx'];
      for (const format of formats) {
        const body = { dataset: 'numbers', format, params: { n: 80 }, filename: 'same' };
        const sync = await fetch(`${base}/v1/exports`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ALICE}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        expect(sync.status, format).toBe(200);
        const syncBytes = Buffer.from(await sync.arrayBuffer());
        const job = await startJob(body);
        const done = await finished(job.id);
        expect(done.status, format).toBe('succeeded');
        const asyncBytes = await download(job.id);
        expect(asyncBytes.equals(syncBytes), format).toBe(true);
        expect(createHash('sha256').update(syncBytes).digest('hex'), format).toBe(
          (done.result as { sha256: string }).sha256,
        );
        // Both are the export itself, read back by a reader that is not ours.
        expect(await independentRowCount(format, syncBytes), format).toBe(80);
      }
    });

    it('answers 304 to a poll whose ETag still holds', async () => {
      const job = await startJob({ dataset: 'numbers', format: 'csv', params: { n: 10 } });
      await finished(job.id);
      const first = await call(`/v1/exports/${job.id}`);
      const etag = first.headers.get('etag')!;
      expect(etag).toMatch(/^".+"$/);
      const again = await call(`/v1/exports/${job.id}`, { headers: { 'if-none-match': etag } });
      expect(again.status).toBe(304);
      const other = await call(`/v1/exports/${job.id}`, { headers: { 'if-none-match': '"other"' } });
      expect(other.status).toBe(200);
    });

    it('waits for a quick job with Prefer: wait and answers 303 to it', async () => {
      const answer = await call('/v1/exports', {
        body: { dataset: 'numbers', format: 'csv', params: { n: 20 } },
        headers: { prefer: 'respond-async, wait=20' },
      });
      expect(answer.status).toBe(303);
      expect(answer.headers.get('location')).toBe(`/v1/exports/${answer.body.id}`);
      expect(answer.headers.get('preference-applied')).toContain('wait=20');
      expect(answer.body.status).toBe('succeeded');
    });

    it('answers 202 when the job is not done within Prefer: wait', async () => {
      const started = Date.now();
      const answer = await call('/v1/exports', {
        body: { dataset: 'slow', format: 'csv' },
        headers: { prefer: 'respond-async, wait=1' },
      });
      expect(answer.status).toBe(202);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900); // it did wait
      expect(answer.headers.get('preference-applied')).toBe('respond-async, wait=1');
      expect(answer.headers.get('location')).toBe(`/v1/exports/${answer.body.id}`);
      expect(['queued', 'running']).toContain(answer.body.status);
      await call(`/v1/exports/${answer.body.id}`, { method: 'DELETE' });
    });

    it('lets a caller wait on at most 16 requests at once; the rest are answered at once', async () => {
      const headers = { prefer: 'respond-async, wait=2', 'idempotency-key': `waits-${Date.now()}` };
      const body = { dataset: 'slow', format: 'csv' };
      const started = Date.now();
      const answers = await Promise.all(
        Array.from({ length: 20 }, async () => {
          const answer = await call('/v1/exports', { body, headers });
          return { answer, ms: Date.now() - started };
        }),
      );
      expect(answers.map(({ answer }) => answer.status)).toEqual(Array(20).fill(202));
      expect(new Set(answers.map(({ answer }) => answer.body.id)).size).toBe(1);
      const waited = answers.filter(({ answer }) =>
        answer.headers.get('preference-applied')?.includes('wait=2'),
      );
      const atOnce = answers.filter(
        ({ answer }) => answer.headers.get('preference-applied') === 'respond-async',
      );
      expect(waited).toHaveLength(16);
      expect(atOnce).toHaveLength(4);
      for (const { ms } of waited) expect(ms).toBeGreaterThanOrEqual(1900);
      for (const { ms } of atOnce) expect(ms).toBeLessThan(1900);
      await call(`/v1/exports/${answers[0]!.answer.body.id}`, { method: 'DELETE' });
    });

    /** Counts the job reads the routes make (they poll with find) while `during` runs. */
    async function findsDuring(during: () => Promise<void>): Promise<number> {
      const exportJobs = jobs.service.jobs;
      const original = exportJobs.find;
      let finds = 0;
      exportJobs.find = (...args: Parameters<typeof original>) => {
        finds++;
        return original.apply(exportJobs, args);
      };
      try {
        await during();
      } finally {
        exportJobs.find = original;
      }
      return finds;
    }

    it('stops waiting for a client that hung up during Prefer: wait', async () => {
      const client = new AbortController();
      const answer = fetch(`${base}/v1/exports`, {
        method: 'POST',
        signal: client.signal,
        headers: {
          authorization: `Bearer ${ALICE}`,
          'content-type': 'application/json',
          prefer: 'respond-async, wait=20',
        },
        body: JSON.stringify({ dataset: 'slow', format: 'csv' }),
      });
      answer.catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 500)); // waiting: ~4 reads a second
      client.abort();
      await new Promise((resolve) => setTimeout(resolve, 400)); // longer than one poll (250 ms)
      const reads = await findsDuring(() => new Promise((resolve) => setTimeout(resolve, 1500)));
      expect(reads).toBe(0); // it polled on for the whole 20 s before
      const listed = await call('/v1/exports?limit=5');
      for (const job of listed.body.exports as { id: string; status: string }[]) {
        if (job.status === 'queued' || job.status === 'running')
          await call(`/v1/exports/${job.id}`, { method: 'DELETE' });
      }
    });

    it('stops the progress stream of a client that left before it started', async () => {
      const job = await startJob({ dataset: 'slow', format: 'csv' });
      const exportJobs = jobs.service.jobs;
      const get = exportJobs.get;
      const client = new AbortController();
      // The route looks the job up before it streams: the client leaves meanwhile.
      exportJobs.get = async (...args: Parameters<typeof get>) => {
        const found = await get.apply(exportJobs, args);
        client.abort();
        await new Promise((resolve) => setTimeout(resolve, 100));
        return found;
      };
      try {
        await fetch(`${base}/v1/exports/${job.id}/events`, {
          signal: client.signal,
          headers: { authorization: `Bearer ${ALICE}` },
        }).catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, 300));
      } finally {
        exportJobs.get = get;
      }
      const reads = await findsDuring(() => new Promise((resolve) => setTimeout(resolve, 2500)));
      expect(reads).toBe(0); // one read a second until the job ended, before
      await call(`/v1/exports/${job.id}`, { method: 'DELETE' });
    });

    it('answers 404 to anyone but the owner on every export route, as for a missing id', async () => {
      const job = await startJob({ dataset: 'numbers', format: 'csv', params: { n: 10 } });
      await finished(job.id);
      const missing = 'exp_doesnotexist0000000000';
      // Every route the server has under /v1/exports/:id, so a new job route is covered too.
      const routes = exportRoutesOf(app.printRoutes({ commonPrefix: false }));
      expect(routes).toEqual(
        expect.arrayContaining([
          ['GET', ''],
          ['GET', '/download'],
          ['GET', '/link'],
          ['GET', '/events'],
          ['POST', '/cancel'],
          ['DELETE', ''],
        ]),
      );
      for (const [method, suffix] of routes) {
        const foreign = await call(`/v1/exports/${job.id}${suffix}`, { method, token: BOB });
        const absent = await call(`/v1/exports/${missing}${suffix}`, { method, token: BOB });
        expect(foreign.status, `${method} ${suffix}`).toBe(404);
        const { instance: _a, ...foreignProblem } = foreign.body;
        const { instance: _b, ...absentProblem } = absent.body;
        expect(foreignProblem).toEqual(absentProblem);
        expect(foreign.body.code).toBe('export_not_found');
      }
      const list = await call('/v1/exports', { token: BOB });
      expect((list.body.exports as { id: string }[]).map((e) => e.id)).not.toContain(job.id);
      // The owner still has it, untouched by bob's attempts.
      expect((await call(`/v1/exports/${job.id}`)).body.status).toBe('succeeded');
    });

    it('refuses a tampered signed link', async (context) => {
      if (!harness.checksSignatures) context.skip();
      const job = await startJob({ dataset: 'numbers', format: 'csv', params: { n: 10 } });
      await finished(job.id);
      const answer = await call(`/v1/exports/${job.id}/download`);
      const link = new URL(answer.headers.get('location')!, base);
      const params = link.searchParams;
      const [name, value] = [...params].find(([k]) => /sig|signature/i.test(k))!;
      // Changed at the start: base64's last character may carry only padding bits.
      params.set(
        name,
        value.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')),
      );
      link.search = params.toString();
      const tampered = await fetch(link);
      expect(tampered.status).toBe(403);
    });

    it('answers 410 once the retention of the file is over, before the sweeper has come by', async () => {
      const job = await startJob({ dataset: 'numbers', format: 'csv', params: { n: 10 } });
      await finished(job.id);
      expect((await call(`/v1/exports/${job.id}/download`)).status).toBe(303);
      const past = new Date(Date.now() - 1000);
      expect(
        await jobs.service.jobs.store.transition(job.id, { status: ['succeeded'] }, { expiresAt: past }),
      ).toBeDefined();
      for (const route of ['download', 'link']) {
        const answer = await call(`/v1/exports/${job.id}/${route}`);
        expect(answer.status, route).toBe(410);
        expect(answer.body.code, route).toBe('export_expired');
      }
      // The job says so too, and its progress stream names the state it shows.
      expect((await call(`/v1/exports/${job.id}`)).body.status).toBe('expired');
      const headers = { authorization: `Bearer ${ALICE}` };
      const events = await readEvents(await fetch(`${base}/v1/exports/${job.id}/events`, { headers }));
      expect(events.map((e) => e.event)).toEqual(['expired']);
      expect(JSON.parse(events[0]!.data).status).toBe('expired');
      expect(events[0]!.id).toMatch(/-expired$/);
      const again = await fetch(`${base}/v1/exports/${job.id}/events`, {
        headers: { ...headers, 'last-event-id': events[0]!.id! },
      });
      expect(again.status).toBe(204);
      expect(again.headers.get('x-content-type-options')).toBe('nosniff');
      // The record marked expired since (DELETE here, the sweeper as well): the state the client
      // has is the same, so is its id, and the time it was shown stays.
      const shown = (await call(`/v1/exports/${job.id}`)).body.expires_at;
      expect((await call(`/v1/exports/${job.id}`, { method: 'DELETE' })).status).toBe(200);
      expect((await call(`/v1/exports/${job.id}`)).body).toMatchObject({
        status: 'expired',
        expires_at: shown,
      });
      const marked = await fetch(`${base}/v1/exports/${job.id}/events`, {
        headers: { ...headers, 'last-event-id': events[0]!.id! },
      });
      expect(marked.status).toBe(204);
    });

    it('mints links that end no later than the file retention', async () => {
      const job = await startJob({ dataset: 'numbers', format: 'csv', params: { n: 10 } });
      await finished(job.id);
      const soon = new Date(Date.now() + 30_000);
      await jobs.service.jobs.store.transition(job.id, { status: ['succeeded'] }, { expiresAt: soon });
      const answer = await call(`/v1/exports/${job.id}/link`);
      expect(answer.status).toBe(200);
      const linkEnds = Date.parse(answer.body.expires_at as string);
      expect(linkEnds).toBeLessThanOrEqual(soon.getTime());
      expect(linkEnds).toBeGreaterThan(Date.now());
      // The link itself says so: a disk link's `exp`, an S3 link's X-Amz-Expires.
      const url = new URL(answer.body.url as string, 'http://takeout.test');
      const signedFor = url.searchParams.get('X-Amz-Expires');
      const expires = url.searchParams.get('exp');
      if (signedFor !== null) expect(Number(signedFor)).toBeLessThanOrEqual(30);
      else {
        expect(Number(expires) * 1000).toBeLessThanOrEqual(soon.getTime());
        // The document says when the link ends, at most a second early (disk links round up).
        expect(Number(expires) * 1000 - linkEnds).toBeGreaterThanOrEqual(0);
        expect(Number(expires) * 1000 - linkEnds).toBeLessThan(1000);
      }
      // Under a second left: no link, but its 410.
      const brink = new Date(Date.now() + 800);
      await jobs.service.jobs.store.transition(job.id, { status: ['succeeded'] }, { expiresAt: brink });
      const late = await call(`/v1/exports/${job.id}/link`);
      expect([late.status, late.body.code, late.body.export_status]).toEqual([
        410,
        'export_expired',
        'expired',
      ]);
    });

    it('says 409 while running, cancels, and says why there is no file', async () => {
      const job = await startJob({ dataset: 'slow', format: 'csv' });
      const early = await call(`/v1/exports/${job.id}/download`);
      expect(early.status).toBe(409);
      expect(early.body.code).toBe('export_not_ready');
      expect(early.body.status).toBe(409); // the problem's status is the HTTP status, never the job's
      expect(['queued', 'running']).toContain(early.body.export_status);
      const cancel = await call(`/v1/exports/${job.id}/cancel`, { method: 'POST' });
      expect([200, 202]).toContain(cancel.status);
      expect((await finished(job.id)).status).toBe('canceled');
      const after = await call(`/v1/exports/${job.id}/download`);
      expect(after.status).toBe(409);
      expect(after.body.code).toBe('export_not_downloadable');
      expect(after.body).toMatchObject({ status: 409, export_status: 'canceled' });
    });

    it('deletes the file on DELETE and answers 410 after, keeping the record', async () => {
      const job = await startJob({ dataset: 'numbers', format: 'csv', params: { n: 10 } });
      await finished(job.id);
      // If-Match naming another state of the export: 412, and nothing changes.
      const seen = await call(`/v1/exports/${job.id}`);
      const etag = seen.headers.get('etag')!;
      for (const method of ['DELETE', 'POST']) {
        const path = method === 'DELETE' ? `/v1/exports/${job.id}` : `/v1/exports/${job.id}/cancel`;
        const refused = await call(path, { method, headers: { 'if-match': '"an-older-state"' } });
        expect([refused.status, refused.body.code], method).toEqual([412, 'precondition_failed']);
        const current = await call(path, { method, headers: { 'if-none-match': '*' } });
        expect([current.status, current.body.code], method).toEqual([412, 'precondition_failed']);
      }
      expect((await call(`/v1/exports/${job.id}`)).body).toEqual(seen.body);
      const before = Date.now();
      const removed = await call(`/v1/exports/${job.id}`, {
        method: 'DELETE',
        headers: { 'if-match': etag },
      });
      expect(removed.status).toBe(200);
      expect(removed.body.status).toBe('expired');
      // `expires_at` says when the file went: now, not the retention it no longer has.
      const expiresAt = Date.parse(String(removed.body.expires_at));
      expect(expiresAt).toBeGreaterThanOrEqual(before - 1000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 1000);
      const gone = await call(`/v1/exports/${job.id}/download`);
      expect(gone.status).toBe(410);
      expect(gone.body.code).toBe('export_expired');
      expect(await jobs.objects()).not.toContain(
        (await jobs.service.jobs.store.get(job.id))?.result?.key ?? 'none',
      );
    });

    it('answers 502 storage_error, logged as an error, when the file is missing while its retention lasts (a worker on other storage)', async () => {
      const job = await startJob({ dataset: 'numbers', format: 'csv', params: { n: 10 } });
      expect((await finished(job.id)).status).toBe('succeeded');
      const record = await jobs.service.jobs.store.get(job.id);
      const key = record?.result?.key;
      expect(key).toBeDefined();
      expect(record?.expiresAt?.getTime()).toBeGreaterThan(Date.now());
      // What the API sees when the worker wrote elsewhere (its own disk, another bucket).
      await jobs.service.storage.delete(key!);
      for (const route of ['download', 'link']) {
        const missing = await call(`/v1/exports/${job.id}/${route}`);
        // Not "has been deleted" (410): nothing of Takeout's deleted it, and its retention has not ended.
        expect(missing.status, route).toBe(502);
        expect(missing.body.code, route).toBe('storage_error');
        expect(String(missing.body.detail), route).not.toMatch(/deleted/);
        expect(missing.headers.get('location'), route).toBeNull();
      }
      // The operator sees why, at error level, with the export and the key.
      const lines = logged.filter((line) => line.exportId === job.id && line.level === 50);
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatchObject({ key });
      expect(String(lines[0]!.msg)).toMatch(/not in storage/);
      // The job still shows the retention it has; the answer does not say expired.
      expect((await call(`/v1/exports/${job.id}`)).body.status).toBe('succeeded');
      // Once the retention has ended, the missing file is expired (a bucket lifecycle rule).
      const past = new Date(Date.now() - 1000);
      await jobs.service.jobs.store.transition(job.id, { status: ['succeeded'] }, { expiresAt: past });
      const gone = await call(`/v1/exports/${job.id}/download`);
      expect(gone.status).toBe(410);
      expect(gone.body.code).toBe('export_expired');
      expect(gone.headers.get('location')).toBeNull();
    });

    it('answers 429 too_many_exports past the queued + running exports one owner may have', async () => {
      const active: string[] = [];
      try {
        for (let i = 0; i < MAX_ACTIVE; i++) {
          active.push((await startJob({ dataset: 'slow', format: 'csv' }, CAROL)).id);
        }
        const refused = await call('/v1/exports', {
          token: CAROL,
          body: { dataset: 'numbers', format: 'csv', params: { n: 5 } },
          headers: { prefer: 'respond-async' },
        });
        expect(refused.status).toBe(429);
        expect(refused.body.code).toBe('too_many_exports');
        expect(refused.headers.get('content-type')).toContain('application/problem+json');
        // Someone else is not held back by carol's exports; carol is again once one is done.
        expect((await startJob({ dataset: 'numbers', format: 'csv', params: { n: 5 } }, BOB)).id).toMatch(
          /^exp_/,
        );
        // The newest is still queued: canceled at once, it no longer counts.
        await call(`/v1/exports/${active.pop()}`, { method: 'DELETE', token: CAROL });
        const next = await startJob({ dataset: 'numbers', format: 'csv', params: { n: 5 } }, CAROL);
        active.push(next.id);
      } finally {
        for (const id of active) await call(`/v1/exports/${id}`, { method: 'DELETE', token: CAROL });
      }
    });

    it('makes one job of 20 concurrent POSTs with one Idempotency-Key, and 422 for another body', async () => {
      const key = `key-${Date.now()}`;
      const body = { dataset: 'numbers', format: 'csv', params: { n: 30 } };
      const answers = await Promise.all(
        Array.from({ length: 20 }, () =>
          call('/v1/exports', { body, headers: { prefer: 'respond-async', 'idempotency-key': key } }),
        ),
      );
      const ids = new Set(answers.map((a) => a.body.id));
      expect(answers.every((a) => a.status === 202 || a.status === 303)).toBe(true);
      expect(ids.size).toBe(1);
      const conflict = await call('/v1/exports', {
        body: { ...body, params: { n: 31 } },
        headers: { prefer: 'respond-async', 'idempotency-key': key },
      });
      expect(conflict.status).toBe(422);
      expect(conflict.body.code).toBe('idempotency_conflict');
      // Without respond-async, small enough to stream: the key still names the job.
      const retried = await call('/v1/exports', { body, headers: { 'idempotency-key': key } });
      expect(retried.status === 202 || retried.status === 303).toBe(true);
      expect(retried.body.id).toBe([...ids][0]);
      const other = await call('/v1/exports', {
        body: { ...body, params: { n: 31 } },
        headers: { 'idempotency-key': key },
      });
      expect(other.status).toBe(422);
      expect(other.body.code).toBe('idempotency_conflict');
    });

    it('streams progress events in order to the final state, and resumes after a reconnect', async () => {
      const job = await startJob({ dataset: 'slow', format: 'csv', params: { n: 15_000 } });
      const headers = { authorization: `Bearer ${ALICE}` };
      const firstConnection = await fetch(`${base}/v1/exports/${job.id}/events`, { headers });
      expect(firstConnection.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const before = await readEvents(firstConnection, (_e, all) => all.length >= 2);
      expect(before.length).toBe(2);
      expect(before.every((e) => e.event === 'progress')).toBe(true);
      const lastId = before.at(-1)!.id!;
      const after = await readEvents(
        await fetch(`${base}/v1/exports/${job.id}/events`, {
          headers: { ...headers, 'last-event-id': lastId },
        }),
      );
      expect(after.at(-1)!.event).toBe('succeeded');
      const all = [...before, ...after];
      expect(new Set(all.map((e) => e.id)).size).toBe(all.length); // nothing sent twice
      const rows = all.map(
        (e) => (JSON.parse(e.data) as { progress: { rows_written: number } }).progress.rows_written,
      );
      expect(rows).toEqual([...rows].sort((a, b) => a - b));
      expect(rows.at(-1)).toBe(15_000);
      expect(all.slice(0, -1).every((e) => e.event === 'progress')).toBe(true);
      // Back with the final state's id: 204, which tells an EventSource to stop reconnecting.
      const done = await fetch(`${base}/v1/exports/${job.id}/events`, {
        headers: { ...headers, 'last-event-id': all.at(-1)!.id! },
      });
      expect(done.status).toBe(204);
      expect(await done.text()).toBe('');
      // HEAD answers at once, with the stream's headers and no body.
      const head = await fetch(`${base}/v1/exports/${job.id}/events`, {
        method: 'HEAD',
        headers,
        signal: AbortSignal.timeout(5000),
      });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-type')).toMatch(/^text\/event-stream/);
    });

    it('refuses what a job record cannot keep (NUL, unpaired surrogates) as 400 on every store, keeps emoji', async () => {
      const ask = (filename: string) =>
        call('/v1/exports', {
          body: { dataset: 'numbers', format: 'csv', params: { n: 3 }, filename },
          headers: { prefer: 'respond-async' },
        });
      for (const filename of ['a\u0000b', 'a\ud800b', 'b\udc00']) {
        const answer = await ask(filename);
        expect(answer.status, JSON.stringify(filename)).toBe(400);
        expect(answer.body.code).toBe('invalid_request');
      }
      const emoji = await ask('report 👩\u200d💻');
      expect(emoji.status).toBe(202);
      await finished(emoji.body.id as string);
    });

    it('keeps at most 16 progress streams open per caller: the next is 429 until one closes', async () => {
      const job = await startJob({ dataset: 'slow', format: 'csv', params: { n: 20_000 } });
      const headers = { authorization: `Bearer ${ALICE}` };
      const open = async () => {
        const controller = new AbortController();
        const response = await fetch(`${base}/v1/exports/${job.id}/events`, {
          headers,
          signal: controller.signal,
        });
        return { response, close: () => controller.abort() };
      };
      const streams = [];
      try {
        for (let i = 0; i < EVENT_STREAMS_PER_PRINCIPAL; i++) streams.push(await open());
        expect(streams.every((s) => s.response.status === 200)).toBe(true);
        const refused = await open();
        expect(refused.response.status).toBe(429);
        expect(refused.response.headers.get('retry-after')).toBeTruthy();
        expect(((await refused.response.json()) as { code: string }).code).toBe('rate_limited');
        // A HEAD holds no stream: it still answers at once.
        const head = await fetch(`${base}/v1/exports/${job.id}/events`, { method: 'HEAD', headers });
        expect(head.status).toBe(200);
        // Another caller is not held back by these.
        const bobs = await startJob({ dataset: 'numbers', format: 'csv', params: { n: 5 } }, BOB);
        const other = await fetch(`${base}/v1/exports/${bobs.id}/events`, {
          headers: { authorization: `Bearer ${BOB}` },
        });
        expect(other.status).toBe(200);
        await other.body?.cancel();
        streams.pop()!.close();
        let again: Awaited<ReturnType<typeof open>> | undefined;
        for (let tries = 0; tries < 50 && again?.response.status !== 200; tries++) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          again?.close();
          again = await open();
        }
        expect(again?.response.status).toBe(200);
        streams.push(again!);
      } finally {
        for (const s of streams) s.close();
        await call(`/v1/exports/${job.id}`, { method: 'DELETE' });
      }
    });

    it('lists my exports newest first, paged, filtered by status', async () => {
      const made: string[] = [];
      for (let i = 0; i < 3; i++) {
        made.push((await startJob({ dataset: 'numbers', format: 'csv', params: { n: 5 } }, BOB)).id);
      }
      for (const id of made) await finished(id, BOB);
      const first = await call('/v1/exports?limit=2', { token: BOB });
      expect(first.status).toBe(200);
      const page1 = (first.body.exports as { id: string }[]).map((e) => e.id);
      expect(page1).toEqual([made[2], made[1]]);
      expect(first.headers.get('link')).toContain('rel="next"');
      const second = await call(
        `/v1/exports?limit=2&cursor=${encodeURIComponent(first.body.next_cursor as string)}`,
        { token: BOB },
      );
      expect((second.body.exports as { id: string }[]).map((e) => e.id)[0]).toBe(made[0]);
      const filtered = await call('/v1/exports?status=failed', { token: BOB });
      expect(filtered.body.exports).toEqual([]);
      const bad = await call('/v1/exports?status=nope', { token: BOB });
      expect(bad.status).toBe(400);
    });
  });
}

/** `[method, suffix]` of every route under `/v1/exports/:id`, from Fastify's route tree (HEAD left out: it is GET's). */
function exportRoutesOf(tree: string): [string, string][] {
  const stack: string[] = [];
  const routes: [string, string][] = [];
  for (const line of tree.split('\n')) {
    const match = /^([│├└─\s]*)(\/\S*) \(([A-Z, ]+)\)$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    stack.length = depth;
    stack.push(match[2]!);
    const path = stack.join('');
    const prefix = '/v1/exports/:id';
    if (path !== prefix && !path.startsWith(`${prefix}/`)) continue;
    for (const method of match[3]!.split(', ')) {
      if (method !== 'HEAD') routes.push([method, path.slice(prefix.length)]);
    }
  }
  return routes;
}
