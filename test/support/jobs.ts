/**
 * Helpers for job tests: a service on a temporary data directory with datasets whose
 * speed and failures the test controls.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config.js';
import { type Dataset, defineDataset } from '../../src/datasets/define.js';
import { TakeoutError } from '../../src/errors.js';
import { type ExportRequest, parseExportRequest } from '../../src/exports/request.js';
import { builtinFormats } from '../../src/formats/index.js';
import type { JobRecord } from '../../src/jobs/types.js';
import { createService, type Service, type ServiceOptions } from '../../src/service.js';
import { rowsSource } from '../../src/sources/rows.js';
import { exportKey } from '../../src/storage/keys.js';
import type { Storage } from '../../src/storage/types.js';
import type { Row } from '../../src/types.js';

export const alice = { id: 'alice', tenant: 'acme' };
export const bob = { id: 'bob', tenant: 'acme' };

/** `n` rows of three typed columns; with `pauseMs`, a pause every 1,000 rows. */
export async function* numberedRows(n: number, pauseMs = 0, signal?: AbortSignal): AsyncGenerator<Row> {
  for (let i = 0; i < n; i++) {
    if (pauseMs > 0 && i % 1000 === 0 && i > 0) await sleep(pauseMs, undefined, signal ? { signal } : {});
    yield { id: i, name: `row ${i}`, amount: i / 4 };
  }
}

const COLUMNS = [
  { key: 'id', type: 'integer' as const },
  { key: 'name', type: 'string' as const },
  { key: 'amount', type: 'number' as const },
];

/** A dataset of `rows` rows (param `n` overrides), pausing `pauseMs` every 1,000 rows. */
export function numbersDataset(name: string, rows: number, pauseMs = 0, failFirst = 0): Dataset {
  let calls = 0;
  return defineDataset({
    name,
    params: { n: { type: 'integer' } },
    columns: COLUMNS,
    source: ({ params }) => {
      calls++;
      if (calls <= failFirst) throw new TakeoutError('source_error', 'The data source failed (test)');
      return rowsSource(numberedRows(typeof params.n === 'number' ? params.n : rows, pauseMs), {
        batched: false,
        columns: COLUMNS,
      });
    },
  });
}

/** Ten rows after a wait of `waitMs`: a streamed export that holds its sync slot that long. */
export function waitingDataset(name: string, waitMs: number): Dataset {
  async function* late(): AsyncGenerator<Row> {
    await sleep(waitMs);
    for (let i = 0; i < 10; i++) yield { id: i, name: `row ${i}`, amount: i / 4 };
  }
  return defineDataset({
    name,
    columns: COLUMNS,
    source: () => rowsSource(late(), { batched: false, columns: COLUMNS }),
  });
}

/**
 * Writes a small file where attempt `attempt` of `job` writes its export, as one that died
 * after its upload leaves it (no record names it). Its key.
 */
export async function writeAttemptFile(
  storage: Storage,
  job: Pick<JobRecord, 'id' | 'createdAt'>,
  attempt: number,
  filename: string,
): Promise<string> {
  const key = exportKey({
    exportId: job.id,
    filename,
    createdAt: job.createdAt,
    attempt,
    prefix: storage.prefix,
  });
  await storage.put(
    key,
    (async function* () {
      yield Buffer.from('id\n1\n');
    })(),
    { contentType: 'text/csv', filename },
  );
  return key;
}

export interface TestService {
  service: Service;
  dir: string;
  request(body: Record<string, unknown>, rowsApart?: boolean): ExportRequest;
  /** Polls the record until `check` holds. */
  until(id: string, check: (job: JobRecord) => boolean, timeoutMs?: number): Promise<JobRecord>;
  /** Every object key under the storage's exports prefix. */
  objects(): Promise<string[]>;
  /**
   * Waits until `key` is no longer stored: staged rows are deleted just after the job's
   * outcome is written, so a reader that saw the outcome may still see them for a moment.
   */
  gone(key: string, timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

export async function testService(
  env: NodeJS.ProcessEnv = {},
  options: ServiceOptions & { dir?: string } = {},
): Promise<TestService> {
  const { dir: given, ...serviceOptions } = options;
  const dir = given ?? mkdtempSync(join(tmpdir(), 'takeout-jobs-'));
  // Retries after 50 ms, not the 5-10 s a deployment waits (a test of the default sets its own).
  const config = loadConfig({
    TAKEOUT_DATA_DIR: dir,
    TAKEOUT_DEMO: 'false',
    TAKEOUT_JOB_BACKOFF: '50ms',
    TAKEOUT_JOB_BACKOFF_MAX: '100ms',
    ...env,
  });
  const service = await createService(config, { env: {}, ...serviceOptions });
  const formats = builtinFormats();
  return {
    service,
    dir,
    request: (body, rowsApart = false) => parseExportRequest(body, formats, { rowsApart }),
    async until(id, check, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const job = await service.jobs.store.get(id);
        if (job && check(job)) return job;
        if (Date.now() > deadline)
          throw new Error(`export ${id} is ${job?.status ?? 'gone'}: condition not met`);
        await sleep(25);
      }
    },
    async objects() {
      const keys: string[] = [];
      for await (const item of service.storage.list(service.storage.prefix)) keys.push(item.key);
      return keys;
    },
    async gone(key, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while ((await service.storage.stat(key)) !== undefined) {
        if (Date.now() > deadline) return false;
        await sleep(25);
      }
      return true;
    },
    async close() {
      await service.close();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
