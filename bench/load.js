// Load on the HTTP API: writes the `load` section of bench/RESULTS.md (see README.md).
//   npm run bench:load [-- --rounds 5 --duration 8 --connections 10]
// 1. Sync path: autocannon against `takeout serve` streaming small CSV exports (13 columns of the
//    demo orders: 100 rows by a SQLite query, 100 rows and 1 row handed over in memory; bearer
//    token, request parsed, planned, estimated, read, formatted), and in the same run against a
//    bare Fastify route answering the same bytes, in alternating rounds: req/s, p99 and server
//    CPU per request of each, and the median of the rounds' ratios.
// 2. Job creation: 500 POSTs at once (500 connections, `Prefer: respond-async`), each becoming a
//    job (recorded and enqueued, no workers), on the embedded default (SQLite job store) and on
//    PostgreSQL + BullMQ (a fresh schema, a private redis-server): req/s and p99.
// Each server is its own process; autocannon runs in this one.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import pg from 'pg';
import { replaceSection } from './results.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const resultsFile = process.env.BENCH_RESULTS ?? join(here, 'RESULTS.md');
const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TOKEN = `bench-${randomBytes(12).toString('hex')}`;
const JOBS = 500;

function parseArgs(argv) {
  const options = { rounds: 5, duration: 5, connections: 10, jobRounds: 3 };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]?.replace(/^--/, '').replace(/-(\w)/g, (_, c) => c.toUpperCase());
    const value = Number(argv[i + 1]);
    if (!(name in options) || !Number.isSafeInteger(value) || value < 1)
      throw new Error(`bad option ${argv[i]}`);
    options[name] = value;
  }
  return options;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const fmtInt = (n) => Math.round(n).toLocaleString('en-US');
const load = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `takeout serve` from dist/ in its own process; resolves once it listens. */
async function startTakeout(env) {
  const child = spawn(process.execPath, [join(root, 'dist/cli/main.js'), 'serve'], {
    env: { PATH: process.env.PATH, PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let seen = '';
  const base = await new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      seen += chunk;
      const match = /serving (http:\/\/\S+)/.exec(seen);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`takeout serve exited with ${code}: ${seen}`)));
  });
  return {
    base,
    pid: child.pid,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function startBare(file, contentType) {
  const child = spawn(process.execPath, [join(here, 'load/bare-server.js'), file, contentType], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line).port));
    child.once('exit', (code) => reject(new Error(`bare server exited with ${code}`)));
  });
  return {
    base: `http://127.0.0.1:${port}`,
    pid: child.pid,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end();
      await exited;
    },
  };
}

async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', ''], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 100; i++) {
    await sleep(50);
    const ok = await new Promise((resolve) => {
      const socket = createServer().listen(port, '127.0.0.1');
      socket.once('listening', () => socket.close(() => resolve(false)));
      socket.once('error', () => resolve(true)); // taken: redis-server listens
    });
    if (ok) break;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function cannon(options) {
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

const exportRequest = (base, body, extraHeaders = {}) => ({
  url: `${base}/v1/exports`,
  method: 'POST',
  headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...extraHeaders },
  body: JSON.stringify(body),
});

/** CPU time (user + system, every thread) a process has used, ms (Linux /proc). */
function processCpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * (1000 / 100); // clock ticks of 10 ms
}

/**
 * One timed round: req/s, p99 latency, anything that was not a 2xx, and the server's CPU per
 * request (steadier than req/s on a shared machine: it measures the work, not the scheduler).
 */
async function round(request, { connections, duration }, pid) {
  const cpuBefore = pid ? processCpuMs(pid) : 0;
  const result = await cannon({ ...request, connections, duration });
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    bad: result.non2xx + result.errors + result.timeouts,
    cpuPerRequest: pid ? (processCpuMs(pid) - cpuBefore) / Math.max(1, result.requests.total) : undefined,
  };
}

const ORDERS100_SQL =
  'SELECT id, order_no, customer, email, country, amount, quantity, unit_price, paid, order_date, shipped_at, details, note FROM orders WHERE id <= 100 ORDER BY id';

/**
 * The floor no export of this dataset can go below: better-sqlite3 alone reading the query's
 * rows (raw arrays, exact integers, as Takeout reads them), CPU µs per run, in this process.
 */
function queryAloneMicros(file) {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const statement = db.prepare(ORDERS100_SQL).raw(true).safeIntegers(true);
    const read = () => {
      for (const _ of statement.iterate());
    };
    for (let i = 0; i < 500; i++) read();
    const runs = 3000;
    const before = process.cpuUsage();
    for (let i = 0; i < runs; i++) read();
    const used = process.cpuUsage(before);
    return (used.user + used.system) / runs;
  } finally {
    db.close();
  }
}

/** Rows shaped like the demo orders (13 columns), as an application would hold them in memory. */
const MEMORY_ROWS_MODULE = `
const { rowsSource } = await import(process.env.TAKEOUT_BENCH_DIST + '/index.js');
const columns = [
  { key: 'id', type: 'integer' }, { key: 'order_no', type: 'string' }, { key: 'customer', type: 'string' },
  { key: 'email', type: 'string' }, { key: 'country', type: 'string' }, { key: 'amount', type: 'decimal' },
  { key: 'quantity', type: 'integer' }, { key: 'unit_price', type: 'number' }, { key: 'paid', type: 'boolean' },
  { key: 'order_date', type: 'date' }, { key: 'shipped_at', type: 'datetime' }, { key: 'details', type: 'json' },
  { key: 'note', type: 'string' },
];
const rows = [];
for (let i = 1; i <= 100; i++) {
  rows.push({
    id: i, order_no: 'ORD-' + String(i).padStart(7, '0'), customer: 'Ada Lovelace ' + i,
    email: 'ada.' + i + '@example.test', country: 'DE', amount: (i * 1.37).toFixed(2), quantity: i % 20,
    unit_price: 6.17, paid: i % 4 !== 0, order_date: new Date(Date.UTC(2023, 0, 1 + i)),
    shipped_at: i % 5 ? new Date(Date.UTC(2023, 0, 2 + i, 10, 11, 12)) : null,
    details: { channel: 'web', items: i % 20 }, note: i % 3 ? null : 'Leave at the door',
  });
}
const inMemory = (name, count) => ({ name, columns, source: () => rowsSource(rows.slice(0, count), { columns }) });
`;

/**
 * The datasets of the sync-path rounds: 100 rows of the demo orders by a SQLite query, the
 * same 13 columns as rows the application holds in memory (no database: Takeout's own cost),
 * and one such row (Takeout's fixed cost per request).
 */
function datasetConfig(dataDir) {
  const file = join(dataDir, 'load.config.mjs');
  writeFileSync(
    file,
    `${MEMORY_ROWS_MODULE}
export default {
  datasets: [
    { name: 'orders100', connection: { sqlite: ${JSON.stringify(join(dataDir, 'demo.sqlite'))} }, sql: ${JSON.stringify(ORDERS100_SQL)} },
    inMemory('memory100', 100),
    inMemory('memory1', 1),
  ],
};
`,
  );
  return file;
}

/** What each sync round exports, and how the results table names it. */
const SYNC_DATASETS = [
  { name: 'orders100', label: '100 rows, SQLite query (demo orders)' },
  { name: 'memory100', label: '100 rows handed over in memory' },
  { name: 'memory1', label: '1 row handed over in memory (the fixed cost)' },
];

const baseEnv = (dataDir) => ({
  TAKEOUT_DATA_DIR: dataDir,
  TAKEOUT_DEMO: 'true', // creates demo.sqlite, which orders100 reads
  TAKEOUT_CONFIG: datasetConfig(dataDir),
  TAKEOUT_BENCH_DIST: join(root, 'dist'),
  TAKEOUT_API_TOKENS: `${TOKEN}=bench`,
  // One client makes every request: the per-principal limits would measure themselves.
  TAKEOUT_RATE_LIMIT: '0',
  TAKEOUT_SYNC_CONCURRENCY: '256',
  TAKEOUT_SYNC_PER_PRINCIPAL: '256',
  TAKEOUT_JOB_MAX_ACTIVE_PER_OWNER: '100000',
});

/** Takeout and a bare route with the same bytes, in alternating rounds, for one dataset. */
async function syncDataset(takeout, dataset, dataDir, options) {
  const body = { dataset: dataset.name, format: 'csv' };
  const first = await fetch(`${takeout.base}/v1/exports`, exportRequest(takeout.base, body));
  const bytes = Buffer.from(await first.arrayBuffer());
  if (first.status !== 200) throw new Error(`the sync export answered ${first.status}: ${bytes}`);
  const rows = bytes.toString('utf8').trim().split('\n').length - 1;
  const file = join(dataDir, `${dataset.name}.csv`);
  writeFileSync(file, bytes);
  const bare = await startBare(file, first.headers.get('content-type'));
  const targets = { takeout: exportRequest(takeout.base, body), bare: exportRequest(bare.base, body) };
  const pids = { takeout: takeout.pid, bare: bare.pid };
  try {
    for (const request of Object.values(targets)) await round(request, { ...options, duration: 2 }); // warm-up
    const rounds = [];
    for (let i = 0; i < options.rounds; i++) {
      // Alternating which goes first, so a drift in the machine's load hits both alike.
      const order = i % 2 ? ['bare', 'takeout'] : ['takeout', 'bare'];
      const r = {};
      for (const name of order) r[name] = await round(targets[name], options, pids[name]);
      r.ratio = r.takeout.rps / r.bare.rps;
      process.stderr.write(
        `  ${dataset.name} round ${i + 1}: takeout ${fmtInt(r.takeout.rps)} req/s (${fmtInt(r.takeout.cpuPerRequest * 1000)} µs CPU each), bare ${fmtInt(r.bare.rps)} req/s (${fmtInt(r.bare.cpuPerRequest * 1000)} µs), ratio ${r.ratio.toFixed(2)}\n`,
      );
      rounds.push(r);
    }
    return { ...dataset, rows, bytes: bytes.length, rounds };
  } finally {
    await bare.stop();
  }
}

async function syncPath(options) {
  const dataDir = mkdtempSync(join(tmpdir(), 'takeout-load-'));
  const takeout = await startTakeout(baseEnv(dataDir));
  try {
    const datasets = [];
    for (const dataset of SYNC_DATASETS) datasets.push(await syncDataset(takeout, dataset, dataDir, options));
    const queryAlone = queryAloneMicros(join(dataDir, 'demo.sqlite'));
    return { datasets, queryAlone };
  } finally {
    await takeout.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function jobCreation(mode, options) {
  const dataDir = mkdtempSync(join(tmpdir(), 'takeout-load-jobs-'));
  const cleanup = [() => rmSync(dataDir, { recursive: true, force: true })];
  const env = { ...baseEnv(dataDir), TAKEOUT_WORKERS: '0' };
  if (mode === 'postgres') {
    const schema = `takeout_load_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    cleanup.push(async () => {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    });
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    Object.assign(env, { DATABASE_URL: PG_URL, TAKEOUT_DATABASE_SCHEMA: schema, REDIS_URL: redis.url });
  }
  const takeout = await startTakeout(env);
  cleanup.push(() => takeout.stop());
  try {
    const request = exportRequest(
      takeout.base,
      { dataset: 'orders100', format: 'csv' },
      { prefer: 'respond-async' },
    );
    await cannon({ ...request, connections: 20, amount: 100 }); // warm-up
    const rounds = [];
    for (let i = 0; i < options.jobRounds; i++) {
      const result = await cannon({ ...request, connections: JOBS, amount: JOBS, timeout: 60 });
      const r = {
        rps: JOBS / result.duration,
        p99: result.latency.p99,
        created: result['2xx'],
        bad: result.non2xx + result.errors + result.timeouts,
      };
      process.stderr.write(
        `  ${mode} round ${i + 1}: ${r.created} created, ${fmtInt(r.rps)} req/s, p99 ${r.p99} ms\n`,
      );
      rounds.push(r);
    }
    return rounds;
  } finally {
    for (const step of cleanup.reverse()) await step();
  }
}

function render(sync, jobs, info, options) {
  const jobRow = (name, rounds) =>
    `| ${name} | ${JOBS} | ${rounds.map((r) => r.created).join(', ')} | ${fmtInt(median(rounds.map((r) => r.rps)))} | ${fmtInt(median(rounds.map((r) => r.p99)))} | ${rounds.reduce((n, r) => n + r.bad, 0)} |`;
  const syncRows = sync.datasets
    .map((d) => {
      const med = (pick) => median(d.rounds.map(pick));
      const ratios = d.rounds.map((r) => r.ratio);
      const bad = (side) => d.rounds.reduce((n, r) => n + r[side].bad, 0);
      return `| ${d.label} | ${fmtInt(d.bytes)} | ${fmtInt(med((r) => r.takeout.rps))} | ${fmtInt(med((r) => r.takeout.p99))} | ${fmtInt(med((r) => r.takeout.cpuPerRequest * 1000))} | ${fmtInt(med((r) => r.bare.rps))} | ${fmtInt(med((r) => r.bare.p99))} | ${fmtInt(med((r) => r.bare.cpuPerRequest * 1000))} | **${median(ratios).toFixed(2)}×** (${ratios.map((r) => r.toFixed(2)).join(', ')}) | ${bad('takeout')} / ${bad('bare')} |`;
    })
    .join('\n');
  const bareCpu = median(sync.datasets[0].rounds.map((r) => r.bare.cpuPerRequest * 1000));
  return `## load: HTTP API under load

Measured ${info.when} · Node ${process.version} · ${info.cores} cores (${info.cpu}) · load average at start ${info.loadStart}, at end ${info.loadEnd}

Written by \`npm run bench:load\` ([bench/load.js](load.js)). Every server is its own process;
autocannon runs in the benchmark's process on the same (shared, 2-core) machine, so absolute
figures are low and noisy: the ratios of the same run are what to read.

### Sync path: small CSV exports vs a bare Fastify route with the same bytes

\`POST /v1/exports {"dataset":"…","format":"csv"}\` with a bearer token: Takeout authenticates,
validates, plans (dataset, columns, a sync slot, the row estimate), reads the rows, formats
them and answers the CSV (13 columns of the demo orders). For each dataset, a bare Fastify
route answers the same bytes with the same headers. Rate limiting is off (one client makes
every request). ${options.connections} connections, ${options.rounds} alternating rounds of ${options.duration} s per dataset;
medians; the ratio is the median of the rounds' ratios (target ≥ 0.6×).

| dataset | bytes | Takeout req/s | p99 ms | CPU µs/req | bare req/s | p99 ms | CPU µs/req | Takeout ÷ bare | non-2xx (Takeout / bare) |
|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|
${syncRows}

For scale, the SQLite query alone — better-sqlite3 reading its 100 rows as Takeout reads them
(raw arrays, exact integers), no Takeout code, in the benchmark's process — takes
${fmtInt(sync.queryAlone)} µs of CPU per run: ${(sync.queryAlone / bareCpu).toFixed(1)}× the bare route's whole request.

### Job creation: ${JOBS} POSTs at once that become jobs

${JOBS} connections send one \`Prefer: respond-async\` export each; every answer must be
\`202\` (recorded and enqueued; no workers run). ${options.jobRounds} rounds per deployment, medians.

| deployment | POSTs | 202s per round | req/s | p99 ms | non-2xx / errors |
|---|--:|--:|--:|--:|--:|
${jobRow('embedded (SQLite job store, embedded queue)', jobs.embedded)}
${jobRow('PostgreSQL job store + BullMQ (Redis)', jobs.postgres)}
`;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const info = {
    when: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cores: availableParallelism(),
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    loadStart: load(),
  };
  process.stderr.write('sync path\n');
  const sync = await syncPath(options);
  process.stderr.write('job creation\n');
  const jobs = {
    embedded: await jobCreation('embedded', options),
    postgres: await jobCreation('postgres', options),
  };
  info.loadEnd = load();
  const section = render(sync, jobs, info, options);
  writeFileSync(resultsFile, replaceSection(readFileSync(resultsFile, 'utf8'), 'load', section));
  process.stdout.write(section);
}

await main();
