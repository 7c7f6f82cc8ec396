// One 1,000,000-row export of the reference table, in its own process so peak RSS is its own:
//   node bench/jobs/one-export.js <job|direct> <csv|xlsx> [rows]
// job:    a background job on the embedded default (SQLite job store, embedded queue, disk
//         storage, a worker in this process), timed from create() to `succeeded`;
// direct: exportRows() into a file, the same rows and columns.
// Prints one JSON line: { mode, format, rows, ms, maxRssMB, bytes }.
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  builtinFormats,
  createService,
  defineDataset,
  exportRows,
  loadConfig,
  parseExportRequest,
  rowsSource,
} from '../../dist/index.js';
import { COLUMNS, rows } from '../case-support.js';

const [mode, format, rowArg] = process.argv.slice(2);
const n = Number(rowArg ?? 1_000_000);
const columns = COLUMNS.map((key) => ({ key }));
const dir = mkdtempSync(join(tmpdir(), 'takeout-bench-jobs-'));

function finish(startedAt, bytes) {
  const line = {
    mode,
    format,
    rows: n,
    ms: Math.round(performance.now() - startedAt),
    maxRssMB: Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10,
    bytes,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

if (mode === 'direct') {
  const file = join(dir, `direct.${format}`);
  const startedAt = performance.now();
  await pipeline(exportRows(rows(n), { format, columns }), createWriteStream(file));
  finish(startedAt, statSync(file).size);
} else if (mode === 'job') {
  const dataset = defineDataset({
    name: 'reference',
    columns,
    source: () => rowsSource(rows(n), { columns }),
  });
  const config = loadConfig({
    TAKEOUT_DATA_DIR: dir,
    TAKEOUT_DEMO: 'false',
    TAKEOUT_JOB_MAX_ROWS: String(n + 1),
    TAKEOUT_WORKERS: '1',
  });
  const service = await createService(config, { env: {}, datasets: [dataset] });
  await service.jobs.startWorker();
  const request = parseExportRequest({ dataset: 'reference', format }, builtinFormats());
  const startedAt = performance.now();
  const { job } = await service.jobs.create(request, { id: 'bench' });
  let done = job;
  while (done.status !== 'succeeded' && done.status !== 'failed') {
    await sleep(20);
    done = await service.jobs.store.get(job.id);
  }
  if (done.status !== 'succeeded') throw new Error(`the job failed: ${JSON.stringify(done.error)}`);
  finish(startedAt, done.result.sizeBytes);
  await service.close();
} else {
  throw new Error('usage: one-export.js <job|direct> <csv|xlsx> [rows]');
}
rmSync(dir, { recursive: true, force: true });
