/**
 * A worker whose job store does not have the export the queue delivers: a `takeout worker`
 * without DATABASE_URL (SQLite of its own), or on another database or TAKEOUT_DATABASE_SCHEMA
 * than the API processes. It completes the delivery (a deleted export is legitimate too) but
 * says so, with the export id, instead of dropping the export in silence. PostgreSQL (two
 * schemas) + BullMQ (one fresh queue on the shared Redis).
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { BullmqHarness, eventually, freshQueueOptions } from '../support/bullmq-harness.js';
import { alice, numbersDataset, type TestService, testService } from '../support/jobs.js';
import { createSchema, PG_BASE_URL, type TestSchema } from './postgres-helpers.js';

const queues = new BullmqHarness();
const services: TestService[] = [];
const schemas: TestSchema[] = [];
afterEach(async () => {
  for (const service of services.splice(0)) await service.close();
  await queues.cleanUp();
  for (const schema of schemas.splice(0)) await schema.drop();
});

function recordingLog() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { log, lines };
}

describe('a worker on another job store than the API', () => {
  it('warns that its job store has no such export, and completes the delivery', async () => {
    const apiSchema = await createSchema('takeout_api_store');
    const workerSchema = await createSchema('takeout_worker_store');
    schemas.push(apiSchema, workerSchema);
    const options = freshQueueOptions();
    const datasets = [numbersDataset('numbers', 10)];
    const api = await testService(
      { DATABASE_URL: PG_BASE_URL, TAKEOUT_DATABASE_SCHEMA: apiSchema.name },
      { datasets, queue: await queues.open(options) },
    );
    services.push(api);
    const { log, lines } = recordingLog();
    const worker = await testService(
      { DATABASE_URL: PG_BASE_URL, TAKEOUT_DATABASE_SCHEMA: workerSchema.name },
      { datasets, queue: await queues.open(options), log },
    );
    services.push(worker);
    await worker.service.jobs.startWorker({ concurrency: 1 });

    const { job } = await api.service.jobs.create(api.request({ dataset: 'numbers', format: 'csv' }), alice);
    const warned = () =>
      lines.find(
        (line) => line.exportId === job.id && line.level === 40 && /no such export/.test(String(line.msg)),
      );
    expect(await eventually(() => warned() !== undefined, 10_000)).toBe(true);
    expect(warned()).toMatchObject({ jobStore: 'postgres' });
    expect(String(warned()!.msg)).toMatch(/DATABASE_URL/);
    expect(String(warned()!.msg)).toMatch(/TAKEOUT_DATABASE_SCHEMA/);
    expect(String(warned()!.msg)).toMatch(/deleted/);
    // The delivery is done with (not retried, not left active); the API's record never ran.
    const probe = queues.probe(options);
    expect(
      await eventually(async () => {
        const counts = await probe.getJobCounts('active', 'waiting', 'delayed', 'prioritized');
        return Object.values(counts).every((n) => n === 0);
      }, 5000),
    ).toBe(true);
    expect((await api.service.jobs.store.get(job.id))?.status).toBe('queued');
  });

  it('says nothing of a finished export delivered again', async () => {
    const { log, lines } = recordingLog();
    const t = await testService({}, { datasets: [numbersDataset('numbers', 10)], log });
    services.push(t);
    await t.service.jobs.startWorker({ concurrency: 1 });
    const { job } = await t.service.jobs.create(t.request({ dataset: 'numbers', format: 'csv' }), alice);
    await t.until(job.id, (j) => j.status === 'succeeded');
    await t.service.jobs.queue.enqueue(job.id);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(lines.filter((line) => line.exportId === job.id && (line.level as number) >= 40)).toEqual([]);
  });
});
