// Shared by bench/cases/postgres-*.js: the reference table in PostgreSQL. It lives in its own
// database, `takeout_bench` (created when missing), as `reference_<rows>`; a case reuses it
// when present and otherwise loads it once from shared/bench/gen.js with COPY FROM STDIN,
// in one transaction (a half-loaded table is never left behind). Loading is not timed.
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { cpuMs, outPath, report, rowCount, rows } from './case-support.js';

export const BENCH_URL =
  process.env.TAKEOUT_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/takeout_bench';

export function tableName(n) {
  return `reference_${n}`;
}

/** PostgreSQL COPY text format of one value. */
function text(v) {
  if (v === null) return '\\N';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'string')
    return v.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]);
  return String(v);
}

async function ensureDatabase() {
  const url = new URL(BENCH_URL);
  const name = url.pathname.slice(1);
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
}

/** Makes sure `reference_<n>` exists with n rows; returns its name. */
export async function ensureTable(n) {
  await ensureDatabase();
  const table = tableName(n);
  const client = new pg.Client({ connectionString: BENCH_URL });
  await client.connect();
  try {
    const exists = await client.query('SELECT to_regclass($1) IS NOT NULL AS ok', [table]);
    if (exists.rows[0].ok) return table;
    process.stderr.write(`loading ${n} rows into ${table} ...\n`);
    await client.query('BEGIN');
    await client.query(`CREATE TABLE ${table} (
      id int4 NOT NULL, uuid uuid NOT NULL, name text NOT NULL, email text NOT NULL, amount numeric(12,2) NOT NULL,
      quantity int4 NOT NULL, created_at timestamptz NOT NULL, active bool NOT NULL, note text, country text NOT NULL)`);
    const sink = client.query(copyFrom(`COPY ${table} FROM STDIN`));
    const done = new Promise((resolve, reject) => {
      sink.on('finish', resolve);
      sink.on('error', reject);
    });
    let buf = '';
    for (const r of rows(n)) {
      buf += `${r.map(text).join('\t')}\n`;
      if (buf.length > 1 << 20) {
        if (!sink.write(buf)) await new Promise((resolve) => sink.once('drain', resolve));
        buf = '';
      }
    }
    sink.end(buf);
    await done;
    await client.query('COMMIT');
    await client.query(`VACUUM ANALYZE ${table}`);
    return table;
  } finally {
    await client.end();
  }
}

/**
 * A Takeout case of the PostgreSQL groups: exports the reference table in `format` through
 * `postgresSource` (`source`: its options, e.g. `{ reader: 'cursor' }`) with the format
 * options `options`, and prints the case's line.
 */
export async function takeoutCase(caseUrl, { format, source = {}, options = {}, extra = {} }) {
  const { createWriteStream } = await import('node:fs');
  const { pipeline } = await import('node:stream/promises');
  const { exportSource } = await import('../dist/index.js');
  const { postgresSource } = await import('../dist/sources/postgres.js');
  const n = rowCount();
  const table = await ensureTable(n);
  const file = outPath(caseUrl, format);
  const startedAt = performance.now();
  const pg = postgresSource({ connectionString: BENCH_URL, sql: `SELECT * FROM ${table}`, ...source });
  const cpuAtStart = cpuMs();
  await pipeline(exportSource(pg, { format, ...options }), createWriteStream(file));
  // Node's CPU only: the server's (the backend running the COPY or cursor) is not counted.
  report({
    caseUrl,
    tool: 'takeout',
    format,
    rows: n,
    startedAt,
    file,
    cpuMs: cpuMs() - cpuAtStart,
    ...extra,
  });
}

/**
 * A psql case: `psql -c "\copy (query) TO file ..."` over the reference table (`select`
 * builds the query from the table name). `maxRssMB` is psql's own peak (GNU time).
 */
export async function psqlCase(caseUrl, { format, select, copyOptions }) {
  const { spawnSync } = await import('node:child_process');
  const { existsSync, readFileSync, rmSync } = await import('node:fs');
  const n = rowCount();
  const table = await ensureTable(n);
  const file = outPath(caseUrl, format);
  const rssFile = `${file}.rss`;
  const command = `\\copy (${select(table)}) TO '${file}' ${copyOptions}`;
  const timed = existsSync('/usr/bin/time');
  const [bin, args] = timed
    ? ['/usr/bin/time', ['-f', '%M %U %S', '-o', rssFile, 'psql', '-X', '-q', BENCH_URL, '-c', command]]
    : ['psql', ['-X', '-q', BENCH_URL, '-c', command]];
  const startedAt = performance.now();
  const result = spawnSync(bin, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) throw new Error(`psql exited with ${result.status}`);
  const extra = {};
  if (timed) {
    // psql's own peak RSS and CPU (the server's is not counted, as for Takeout's cases).
    const [rssKB, user, system] = readFileSync(rssFile, 'utf8')
      .trim()
      .split('\n')
      .pop()
      .split(' ')
      .map(Number);
    extra.maxRssMB = Math.round((rssKB / 1024) * 10) / 10;
    extra.cpuMs = Math.round((user + system) * 1000);
    rmSync(rssFile, { force: true });
  }
  report({ caseUrl, tool: 'psql', format, rows: n, startedAt, file, ...extra });
}
