// The baseline users would otherwise pick: psql -c "\copy (query) TO file CSV HEADER" over the
// same table. `maxRssMB` is psql's own peak (GNU time), not this wrapper's.
// The reference table is loaded once into the takeout_bench database (not timed).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { outPath, report, rowCount } from '../case-support.js';
import { BENCH_URL, ensureTable } from '../postgres-support.js';

const n = rowCount();
const table = await ensureTable(n);
const file = outPath(import.meta.url, 'csv');
const rssFile = `${file}.rss`;
const command = `\\copy (SELECT * FROM ${table}) TO '${file}' CSV HEADER`;
const timed = existsSync('/usr/bin/time');
const [bin, args] = timed
  ? ['/usr/bin/time', ['-f', '%M', '-o', rssFile, 'psql', '-X', '-q', BENCH_URL, '-c', command]]
  : ['psql', ['-X', '-q', BENCH_URL, '-c', command]];
const startedAt = performance.now();
const result = spawnSync(bin, args, { stdio: ['ignore', 'ignore', 'inherit'] });
if (result.status !== 0) throw new Error(`psql exited with ${result.status}`);
const extra = {};
if (timed) {
  extra.maxRssMB =
    Math.round((Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) / 1024) * 10) / 10;
  rmSync(rssFile, { force: true });
}
report({ caseUrl: import.meta.url, tool: 'psql', format: 'csv', rows: n, startedAt, file, ...extra });
