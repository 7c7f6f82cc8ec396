// PostgreSQL -> CSV through Takeout's cursor path (server-side cursor, 5000-row batches,
// values typed by OID, Takeout's CSV writer with its defaults: CRLF, formula escaping).
// The reference table is loaded once into the takeout_bench database (not timed).
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { exportSource } from '../../dist/index.js';
import { postgresSource } from '../../dist/sources/postgres.js';
import { outPath, report, rowCount } from '../case-support.js';
import { BENCH_URL, ensureTable } from '../postgres-support.js';

const n = rowCount();
const table = await ensureTable(n);
const file = outPath(import.meta.url, 'csv');
const startedAt = performance.now();
const source = postgresSource({ connectionString: BENCH_URL, sql: `SELECT * FROM ${table}` });
await pipeline(exportSource(source, { format: 'csv' }), createWriteStream(file));
report({ caseUrl: import.meta.url, tool: 'takeout', format: 'csv', rows: n, startedAt, file });
