/**
 * A Takeout server for the browser tests: a real service (SQLite job store, embedded queue,
 * disk storage) on loopback, serving the built page, with two datasets: `orders`, small and
 * with every kind of parameter, and `big`, slow enough to watch its progress.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { Authenticate } from '../../src/auth.js';
import { defineDataset } from '../../src/datasets/define.js';
import { filesRoutes } from '../../src/http/routes/files.js';
import { pageRoutes } from '../../src/http/routes/page.js';
import { buildServer, serviceServerOptions } from '../../src/http/server.js';
import { rowsSource } from '../../src/sources/rows.js';
import type { DiskStorage } from '../../src/storage/disk.js';
import type { Storage } from '../../src/storage/types.js';
import { type TestService, testService } from './jobs.js';

export const COUNTRIES = ['US', 'DE', 'FR'] as const;
/** Exports past this many rows become background jobs. */
export const SYNC_MAX_ROWS = 1000;
/** Rows of `big` unless its `n` says otherwise, 1,000 every PAUSE_MS. */
export const BIG_ROWS = 30_000;
const PAUSE_MS = 150;

export type OrderRow = {
  id: number;
  customer: string;
  country: string;
  amount: number;
  order_date: string;
  shipped_at: Date;
};

/** The 60 orders of the fixture: deterministic, so a test can compute what it expects. */
export function orders(): OrderRow[] {
  return Array.from({ length: 60 }, (_, i) => ({
    id: i + 1,
    customer: `Customer ${i + 1}`,
    country: COUNTRIES[i % COUNTRIES.length]!,
    amount: (i * 37) % 500,
    order_date: `2024-0${(i % 9) + 1}-1${i % 10}`,
    shipped_at: new Date(Date.UTC(2024, 2, 1 + (i % 28), 12, 0, 0)),
  }));
}

const ordersDataset = defineDataset({
  name: 'orders',
  title: 'Orders',
  description: 'Sixty orders of three countries',
  params: {
    country: { type: 'string', enum: [...COUNTRIES], description: 'Where the order went' },
    since: { type: 'date', description: 'First order date' },
    min_amount: { type: 'number', min: 0, description: 'Smallest amount' },
    currency: { type: 'string', enum: ['EUR', 'USD'], required: true },
  },
  columns: [
    { key: 'id', header: 'ID', type: 'integer' },
    { key: 'customer', header: 'Customer' },
    { key: 'country', header: 'Country' },
    { key: 'amount', header: 'Amount', type: 'number' },
    { key: 'order_date', header: 'Order date', type: 'date' },
    { key: 'shipped_at', header: 'Shipped at', type: 'datetime' },
  ],
  source: ({ params }) =>
    rowsSource(
      orders().filter(
        (row) =>
          (params.country === null || row.country === params.country) &&
          (params.since === null || row.order_date >= (params.since as string)) &&
          (params.min_amount === null || row.amount >= (params.min_amount as number)),
      ),
    ),
});

const BIG_COLUMNS = [
  { key: 'id', type: 'integer' as const },
  { key: 'label', type: 'string' as const },
];

async function* bigRows(n: number): AsyncGenerator<Record<string, unknown>[]> {
  for (let start = 0; start < n; start += 1000) {
    if (start > 0) await sleep(PAUSE_MS);
    yield Array.from({ length: Math.min(1000, n - start) }, (_, i) => ({
      id: start + i,
      label: `row ${start + i}`,
    }));
  }
}

const bigDataset = defineDataset({
  name: 'big',
  title: 'Big and slow',
  params: { n: { type: 'integer', min: 1, description: 'How many rows' } },
  columns: BIG_COLUMNS,
  source: ({ params }) => {
    const n = typeof params.n === 'number' ? params.n : BIG_ROWS;
    return Object.assign(rowsSource(bigRows(n), { batched: true, columns: BIG_COLUMNS }), {
      estimate: async () => n,
    });
  },
});

export interface PageServer {
  base: string;
  app: FastifyInstance;
  jobs: TestService;
  /** Creates a background export through the API (as the page's anonymous caller); its id. */
  createJob(body: Record<string, unknown>): Promise<string>;
  /** The export's status as the API shows it (development mode: anyone on loopback owns it). */
  jobStatus(id: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * `storage`: where files go instead of the service's disk (e.g. S3 on another origin); the
 * server then serves no file route of its own.
 */
export async function startPageServer(
  root: string,
  authenticate?: Authenticate,
  storage?: Storage,
): Promise<PageServer> {
  const jobs = await testService(
    { TAKEOUT_SYNC_MAX_ROWS: String(SYNC_MAX_ROWS) },
    { datasets: [ordersDataset, bigDataset], ...(storage ? { storage } : {}) },
  );
  const { service } = jobs;
  const app = await buildServer({
    ...serviceServerOptions(service),
    ...(authenticate ? { authenticate } : {}),
    plugins: [
      async (scope) => {
        await scope.register(pageRoutes, { root });
        if (!storage) await scope.register(filesRoutes, { storage: service.storage as DiskStorage });
      },
    ],
  });
  await service.jobs.startWorker();
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const base = `http://127.0.0.1:${port}`;
  return {
    base,
    app,
    jobs,
    async createJob(body) {
      const response = await fetch(`${base}/v1/exports`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', prefer: 'respond-async' },
        body: JSON.stringify(body),
      });
      if (response.status !== 202)
        throw new Error(`expected 202, got ${response.status}: ${await response.text()}`);
      return ((await response.json()) as { id: string }).id;
    },
    async jobStatus(id) {
      const response = await fetch(`${base}/v1/exports/${id}`);
      return ((await response.json()) as { status: string }).status;
    },
    async close() {
      await app.close();
      await jobs.close();
    },
  };
}
