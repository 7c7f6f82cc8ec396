/**
 * The notification backlog on /metrics: deliveries still to send and the age of the oldest,
 * read from the job store, so that sends stuck behind a receiver that does not answer show.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { alice, numbersDataset, type TestService, testService } from '../support/jobs.js';
import { parsePrometheus, sampleValue } from '../support/prometheus-text.js';
import { createSchema, PG_BASE_URL } from './postgres-helpers.js';

let t: TestService | undefined;
const drops: (() => Promise<void>)[] = [];
afterAll(async () => {
  await t?.close();
  for (const drop of drops) await drop();
});

/** A loopback port nothing listens on: every send to it is refused, and retried. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.each([
  ['SQLite', async () => ({})],
  [
    'PostgreSQL',
    async () => {
      const schema = await createSchema('takeout_backlog');
      drops.push(() => schema.drop());
      return { DATABASE_URL: PG_BASE_URL, TAKEOUT_DATABASE_SCHEMA: schema.name };
    },
  ],
] as const)('notification backlog metrics on %s', (_name, storeEnv) => {
  it('counts the deliveries still to send and ages the oldest', async () => {
    await t?.close();
    t = await testService(
      {
        ...(await storeEnv()),
        TAKEOUT_WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
        TAKEOUT_WEBHOOK_URL: `http://127.0.0.1:${await closedPort()}/hook`,
      },
      { datasets: [numbersDataset('numbers', 10)] },
    );
    const scrape = async () => parsePrometheus((await t!.service.metrics.scrape()).body);
    const before = await scrape();
    expect(sampleValue(before, 'takeout_notifications_pending')).toBe(0);
    expect(sampleValue(before, 'takeout_notifications_oldest_pending_seconds')).toBe(0);

    await t.service.jobs.startWorker({ concurrency: 1 });
    const { job } = await t.service.jobs.create(t.request({ dataset: 'numbers', format: 'csv' }), alice);
    await t.until(job.id, (j) => j.status === 'succeeded');
    // Its export.succeeded for the service-wide webhook, refused and waiting for a retry.
    expect(
      await eventually(async () => {
        const [delivery] = await t!.service.jobs.store.deliveries(job.id);
        return (delivery?.attempts ?? 0) >= 1;
      }, 10_000),
    ).toBe(true);
    // Counts are reused for a few seconds: a later scrape sees the delivery, and its age grow.
    let pending = 0;
    let age = 0;
    expect(
      await eventually(
        async () => {
          const samples = await scrape();
          pending = sampleValue(samples, 'takeout_notifications_pending') ?? 0;
          age = sampleValue(samples, 'takeout_notifications_oldest_pending_seconds') ?? 0;
          return pending === 1 && age > 1;
        },
        15_000,
        250,
      ),
      `pending ${pending}, oldest ${age} s`,
    ).toBe(true);
  }, 30_000);
});
