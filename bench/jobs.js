// Background jobs benchmark: writes the `jobs` section of bench/RESULTS.md (see README.md).
//   npm run build && node bench/jobs.js [--exports 1000] [--rows 1000000] [--repeat 3]
// 1. BullMQ throughput: `--exports` tiny exports (10 rows of CSV from PostgreSQL) created by
//    this process as the API, run by 2 `takeout worker` processes (PostgreSQL job store on
//    127.0.0.1:5432, Redis on 127.0.0.1:6379, disk storage): jobs/s, and enqueue-to-succeeded
//    latency from the records' created and finished times.
// 2. One `--rows` CSV and one XLSX export as a background job on the embedded default, against
//    the same export with exportRows() directly, each in its own process, alternating, `--repeat`
//    rounds: medians, and the median of each round's job/direct ratio.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { builtinFormats, createService, loadConfig, parseExportRequest } from '../dist/index.js';
import { replaceSection } from './results.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const resultsFile = process.env.BENCH_RESULTS ?? join(here, 'RESULTS.md');
const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

function parseArgs(argv) {
  const options = { exports: 1000, rows: 1_000_000, repeat: 3 };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]?.replace(/^--/, '');
    const value = Number(String(argv[i + 1]).replace(/_/g, ''));
    if (!(name in options) || !Number.isSafeInteger(value) || value < 1)
      throw new Error(`bad option ${argv[i]}`);
    options[name] = value;
  }
  return options;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};
const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const fmt = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
const fmtInt = (n) => Math.round(n).toLocaleString('en-US');

/** Peak resident set of a live process (Linux), MiB. */
function peakRssMB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
  return Math.round((kb / 1024) * 10) / 10;
}

function startWorker(env) {
  const child = spawn(process.execPath, [join(root, 'dist/cli/main.js'), 'worker'], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const ready = new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
    createInterface({ input: child.stderr }).on('line', (line) => {
      if (line.includes('takeout worker is running')) resolve();
    });
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return { child, ready, exited };
}

async function bullmqThroughput(count) {
  const schema = `bench_jobs_${randomBytes(4).toString('hex')}`;
  const prefix = `takeout-bench:${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'takeout-bench-bullmq-'));
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  writeFileSync(
    join(dir, 'takeout.config.json'),
    JSON.stringify({
      datasets: [
        {
          name: 'tiny',
          connection: { postgres: { urlEnv: 'SOURCE_URL' } },
          sql: "SELECT g AS id, 'row ' || g AS name FROM generate_series(1, 10) AS g",
        },
      ],
    }),
  );
  const env = {
    TAKEOUT_DATA_DIR: dir,
    TAKEOUT_CONFIG: join(dir, 'takeout.config.json'),
    TAKEOUT_DEMO: 'false',
    DATABASE_URL: PG_URL,
    TAKEOUT_DATABASE_SCHEMA: schema,
    SOURCE_URL: PG_URL,
    REDIS_URL,
    TAKEOUT_QUEUE_PREFIX: prefix,
    TAKEOUT_JOB_MAX_ACTIVE_PER_OWNER: String(count + 1),
    LOG_LEVEL: 'info',
  };
  const workers = [startWorker(env), startWorker(env)];
  const api = await createService(loadConfig(env), { env });
  try {
    await Promise.all(workers.map((w) => w.ready));
    const request = parseExportRequest({ dataset: 'tiny', format: 'csv' }, builtinFormats());
    const ids = [];
    for (let i = 0; i < count; i++) ids.push((await api.jobs.create(request, { id: 'bench' })).job.id);
    const far = new Date(Date.now() + 86_400_000);
    for (;;) {
      const open = await api.jobs.store.find({
        status: ['queued', 'running'],
        field: 'createdAt',
        before: far,
        limit: 1,
      });
      if (open.length === 0) break;
      await sleep(100);
    }
    const jobs = [];
    for (const id of ids) jobs.push(await api.jobs.store.get(id));
    const failed = jobs.filter((job) => job.status !== 'succeeded').length;
    const latencies = jobs.map((job) => job.finishedAt - job.createdAt).sort((a, b) => a - b);
    const first = Math.min(...jobs.map((job) => job.createdAt.getTime()));
    const last = Math.max(...jobs.map((job) => job.finishedAt.getTime()));
    const rss = workers.map((w) => peakRssMB(w.child.pid));
    return {
      count,
      failed,
      wallMs: last - first,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies.at(-1),
      workerRss: rss,
    };
  } finally {
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
    await api.close();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
    const redis = new Redis(REDIS_URL);
    for (let cursor = '0'; ; ) {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
      if (cursor === '0') break;
    }
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

function oneExport(mode, format, rows) {
  process.stderr.write(`  ${mode} ${format} ${fmtInt(rows)} rows ... `);
  const child = spawnSync(
    process.execPath,
    ['--expose-gc', join(here, 'jobs/one-export.js'), mode, format, String(rows)],
    {
      cwd: root,
      encoding: 'utf8',
      timeout: 30 * 60 * 1000,
    },
  );
  const line = (child.stdout ?? '').trim().split('\n').at(-1);
  if (child.status !== 0 || !line?.startsWith('{')) {
    throw new Error(
      `${mode} ${format} failed: ${(child.stderr ?? '').trim().split('\n').slice(-3).join(' ')}`,
    );
  }
  const result = JSON.parse(line);
  process.stderr.write(`${fmt(result.ms / 1000)} s, ${result.maxRssMB} MB\n`);
  return result;
}

function render(info, options, bullmq, embedded) {
  const lines = [
    '## jobs',
    '',
    `Measured ${info.date} · Node ${info.node} · ${info.cores} cores (${info.cpu}) · load average at start ${info.load}`,
    '',
    `### BullMQ: ${fmtInt(bullmq.count)} tiny exports, 2 worker processes`,
    '',
    'Each export is 10 rows of CSV from PostgreSQL (a dataset). This process creates them one',
    'after another as the API would (PostgreSQL job store, BullMQ on the local Redis, disk',
    'storage); two `takeout worker` processes run them, 2 at a time each (the default). Latency',
    'is from the record being created (and enqueued) to its `succeeded` update.',
    '',
    '| exports | failed | wall s | jobs/s | p50 ms | p99 ms | max ms | worker peak RSS MiB |',
    '|--:|--:|--:|--:|--:|--:|--:|--:|',
    `| ${fmtInt(bullmq.count)} | ${bullmq.failed} | ${fmt(bullmq.wallMs / 1000)} | ${fmt(bullmq.count / (bullmq.wallMs / 1000), 1)} | ${fmtInt(bullmq.p50)} | ${fmtInt(bullmq.p99)} | ${fmtInt(bullmq.max)} | ${bullmq.workerRss.map((r) => fmt(r, 0)).join(', ')} |`,
    '',
    `### ${fmtInt(options.rows)} rows: a background job (embedded default) vs exportRows directly`,
    '',
    'The job runs on SQLite + the embedded queue + disk storage with its worker in the same',
    'process, from `create()` to `succeeded` (staging nothing: a code-defined dataset over the',
    'reference rows); direct is `exportRows()` into a file. Each run is its own process;',
    `${options.repeat} rounds alternating the two: median seconds and the median of each round's job/direct ratio.`,
    '',
    '| format | direct s | job s | job / direct | direct peak RSS MiB | job peak RSS MiB | file MiB |',
    '|---|--:|--:|--:|--:|--:|--:|',
  ];
  for (const [format, runs] of Object.entries(embedded)) {
    const direct = median(runs.map((r) => r.direct.ms));
    const job = median(runs.map((r) => r.job.ms));
    const ratio = median(runs.map((r) => r.job.ms / r.direct.ms));
    lines.push(
      `| ${format} | ${fmt(direct / 1000)} | ${fmt(job / 1000)} | ${fmt(ratio)} | ${fmt(median(runs.map((r) => r.direct.maxRssMB)), 0)} | ${fmt(median(runs.map((r) => r.job.maxRssMB)), 0)} | ${fmt(runs[0].job.bytes / 1024 / 1024, 1)} |`,
    );
  }
  return lines.join('\n');
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (!existsSync(join(root, 'dist/index.js'))) throw new Error('run npm run build first');
  const info = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    node: process.version,
    cores: availableParallelism(),
    cpu: cpus()[0]?.model?.trim() ?? 'unknown CPU',
    load: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  };
  process.stderr.write(`jobs (load ${info.load})\n  BullMQ, ${options.exports} tiny exports ... `);
  const bullmq = await bullmqThroughput(options.exports);
  process.stderr.write(`${fmt(bullmq.count / (bullmq.wallMs / 1000), 1)} jobs/s, p99 ${bullmq.p99} ms\n`);
  const embedded = { csv: [], xlsx: [] };
  for (let round = 0; round < options.repeat; round++) {
    for (const format of Object.keys(embedded)) {
      const direct = oneExport('direct', format, options.rows);
      const job = oneExport('job', format, options.rows);
      embedded[format].push({ direct, job });
    }
  }
  const text = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '';
  writeFileSync(resultsFile, replaceSection(text, 'jobs', render(info, options, bullmq, embedded)));
  process.stderr.write(`wrote jobs to ${resultsFile}\n`);
}

await main();
