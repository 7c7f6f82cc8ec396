/**
 * Inline rows of a background job travel through staging as JSON: what JSON cannot hold must
 * come out of the job's file as it comes out of a direct export of the same rows.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { exportRows } from '../../src/pipeline.js';
import { alice, type TestService, testService } from '../support/jobs.js';

let t: TestService | undefined;
afterAll(async () => {
  await t?.close();
});

async function bytes(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

describe('staged inline rows', () => {
  it('give the same file as a direct export for bytes, NaN, infinities, BigInts and Dates', async () => {
    t = await testService();
    await t.service.jobs.startWorker();
    const rows = () => [
      {
        id: 1,
        bytes: Buffer.from('+A1+B1', 'base64'),
        n: Number.NaN,
        up: Number.POSITIVE_INFINITY,
        big: -(2n ** 63n),
        at: new Date(Date.UTC(2026, 10, 30, 12, 34, 56, 789)),
      },
      {
        id: 2,
        bytes: new Uint8Array([1, 2, 3]),
        n: 1.5,
        up: Number.NEGATIVE_INFINITY,
        big: 12n,
        at: new Date(Number.NaN),
      },
    ];
    for (const format of ['csv', 'json', 'ndjson', 'xlsx']) {
      const request = t.request({ format }, true);
      const { job } = await t.service.jobs.create(request, alice, { rows: rows() });
      const done = await t.until(job.id, (j) => j.status === 'succeeded' || j.status === 'failed');
      expect(done.status).toBe('succeeded');
      const viaJob = await bytes((await t.service.storage.read(done.result!.key))!);
      const direct = await bytes(exportRows(rows(), { format }));
      expect(viaJob.equals(direct), `${format}: ${viaJob.toString('latin1').slice(0, 200)}`).toBe(true);
    }
  });

  it('leaves an object that only looks like a tag as it is', async () => {
    t ??= await testService();
    const rows = [{ id: 1, v: { '$takeout:bigint': 'not a number' }, w: { '$takeout:number': 'one' } }];
    const { job } = await t.service.jobs.create(t.request({ format: 'json' }, true), alice, { rows });
    const done = await t.until(job.id, (j) => j.status === 'succeeded' || j.status === 'failed');
    expect(done.status).toBe('succeeded');
    const viaJob = await bytes((await t.service.storage.read(done.result!.key))!);
    expect(viaJob.equals(await bytes(exportRows(rows, { format: 'json' })))).toBe(true);
  });

  it("fail create with source_error, the rows' own error as its cause, leaving no record and no staged file", async () => {
    t ??= await testService();
    const { service } = t;
    const why = new Error('the app lost its database');
    async function* failing(after: number) {
      for (let i = 0; i < after; i++) yield { id: i, text: 'x'.repeat(200) };
      throw why;
    }
    const before = (await service.jobs.list(alice)).jobs.length;
    // At once, and after rows enough to have reached storage.
    for (const after of [0, 5000]) {
      const creating = service.jobs.create(t.request({ format: 'csv' }, true), alice, {
        rows: failing(after),
      });
      await expect(creating, `after ${after} rows`).rejects.toMatchObject({
        code: 'source_error',
        cause: why,
      });
    }
    expect((await service.jobs.list(alice)).jobs.length).toBe(before);
    const left: string[] = [];
    for await (const item of service.storage.list('')) if (item.key.includes('staging')) left.push(item.key);
    expect(left).toEqual([]);
  });
});
