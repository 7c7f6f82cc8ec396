/**
 * The job routes' answers as docs/api.md states them, over real HTTP (SQLite + embedded queue
 * + disk): the list filters on the status the documents show, a repeated `status` is several
 * statuses, DELETE answers a `canceling` export as cancel does, and the routes that read no
 * body take an empty JSON one.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, serviceServerOptions } from '../../src/http/server.js';
import { numbersDataset, type TestService, testService } from '../support/jobs.js';

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

describe('job routes', () => {
  let jobs: TestService;
  let app: FastifyInstance;
  let base: string;

  async function call(path: string, init: RequestInit = {}): Promise<Answer> {
    const response = await fetch(base + path, { redirect: 'manual', ...init });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : {} };
  }

  async function startJob(dataset: string): Promise<string> {
    const answer = await call('/v1/exports', {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'respond-async' },
      body: JSON.stringify({ dataset, format: 'csv' }),
    });
    expect(answer.status).toBe(202);
    return answer.body.id as string;
  }

  const ids = (answer: Answer) => (answer.body.exports as { id: string }[]).map((job) => job.id);

  beforeAll(async () => {
    jobs = await testService(
      {},
      { datasets: [numbersDataset('numbers', 10), numbersDataset('slow', 50_000, 200)] },
    );
    app = await buildServer(serviceServerOptions(jobs.service));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    await jobs.service.jobs.startWorker({ concurrency: 2 });
  });
  afterAll(async () => {
    await app?.close();
    await jobs?.close();
  });

  it('answers DELETE of a running export 202 canceling, as cancel does', async () => {
    for (const method of ['DELETE', 'POST']) {
      const id = await startJob('slow');
      await jobs.until(id, (job) => job.status === 'running');
      const answer = await call(method === 'DELETE' ? `/v1/exports/${id}` : `/v1/exports/${id}/cancel`, {
        method,
      });
      expect(answer.status, method).toBe(202);
      expect(answer.body.status, method).toBe('canceling');
      // Where to poll it, how soon, and not for any cache to keep.
      expect(answer.headers.get('location'), method).toBe(`/v1/exports/${id}`);
      expect(Number(answer.headers.get('retry-after')), method).toBeGreaterThanOrEqual(1);
      expect(answer.headers.get('cache-control'), method).toBe('no-store');
      await jobs.until(id, (job) => job.status === 'canceled');
    }
  });

  it('answers a deleted file 410 export_expired with the export status, and DELETE with no-store', async () => {
    const id = await startJob('numbers');
    await jobs.until(id, (job) => job.status === 'succeeded');
    const deleted = await call(`/v1/exports/${id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect(deleted.body.status).toBe('expired');
    expect(deleted.headers.get('cache-control')).toBe('no-store');
    expect(deleted.headers.get('location')).toBeNull();
    const gone = await call(`/v1/exports/${id}/download`);
    expect(gone.status).toBe(410);
    expect(gone.body).toMatchObject({
      code: 'export_expired',
      export_status: 'expired',
      detail: 'The file of this export has been deleted',
      instance: `/v1/exports/${id}/download`,
    });
  });

  it('names the path as the instance of a 404 for an unknown route and of a 405', async () => {
    const unknown = await call('/v1/nothing-here?x=1');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 'not_found', instance: '/v1/nothing-here' });
    const wrongMethod = await call('/v1/datasets', { method: 'DELETE' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.body).toMatchObject({ code: 'method_not_allowed', instance: '/v1/datasets' });
  });

  it('takes an empty JSON body on cancel and DELETE, which read none', async () => {
    const emptyJson = { headers: { 'content-type': 'application/json' }, body: '' };
    const id = await startJob('slow');
    const canceled = await call(`/v1/exports/${id}/cancel`, { method: 'POST', ...emptyJson });
    expect([200, 202]).toContain(canceled.status);
    expect(['canceling', 'canceled']).toContain(canceled.body.status);
    await jobs.until(id, (job) => job.status === 'canceled');
    const deleted = await call(`/v1/exports/${id}`, { method: 'DELETE', ...emptyJson });
    expect(deleted.status).toBe(200);
    expect(deleted.body.status).toBe('canceled');
    // A body that is there must still be JSON.
    const garbage = await call(`/v1/exports/${id}/cancel`, { ...emptyJson, method: 'POST', body: '{' });
    expect(garbage.status).toBe(400);
    expect(garbage.body.code).toBe('invalid_json');
  });

  it('filters the list on the status the documents show, given once, comma-separated or repeated', async () => {
    const kept = await startJob('numbers');
    const lapsed = await startJob('numbers');
    const canceled = await startJob('slow');
    await call(`/v1/exports/${canceled}/cancel`, { method: 'POST' });
    for (const id of [kept, lapsed, canceled]) {
      await jobs.until(id, (job) => ['succeeded', 'canceled'].includes(job.status));
    }
    // The file's retention is over; the sweeper has not come by.
    const past = new Date(Date.now() - 1000);
    await jobs.service.jobs.store.transition(lapsed, { status: ['succeeded'] }, { expiresAt: past });
    const mine = [kept, lapsed, canceled];
    const listed = async (query: string) =>
      ids(await call(`/v1/exports?${query}`)).filter((id) => mine.includes(id));

    expect(await listed('status=succeeded')).toEqual([kept]);
    expect(await listed('status=expired')).toEqual([lapsed]);
    expect((await call(`/v1/exports/${lapsed}`)).body.status).toBe('expired');
    expect(await listed('status=succeeded,canceled')).toEqual([canceled, kept]);
    expect(await listed('status=succeeded&status=canceled')).toEqual([canceled, kept]);

    // Paged: the next link keeps both statuses.
    const first = await call('/v1/exports?limit=1&status=canceled&status=succeeded&utm_source=x');
    expect(ids(first)).toEqual([canceled]);
    const next = /<([^>]+)>; rel="next"/.exec(first.headers.get('link') ?? '')?.[1];
    expect(next).toBeDefined();
    // Only what the list reads goes on: not whatever else the request carried.
    expect([...new URL(next!, base).searchParams.keys()].sort()).toEqual(['cursor', 'limit', 'status']);
    expect(ids(await call(next!))).toEqual([kept]);

    for (const query of [
      'limit=1&limit=2',
      'cursor=a&cursor=b',
      'status=succeeded&status=nope',
      'limit=0x10',
      'limit=1e1',
      'limit=0',
      'limit=101',
    ]) {
      const refused = await call(`/v1/exports?${query}`);
      expect(refused.status, query).toBe(400);
      expect(refused.body.code, query).toBe('invalid_request');
    }
  });
});
