/**
 * Figures of a scale run (throughput, time from create to `succeeded`) and the `scale`
 * section of bench/RESULTS.md: one table row per run, the latest runs kept, so that runs in
 * a row stay side by side.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { replaceSection } from '../../bench/results.js';
import type { RunOutcome } from './run.js';

export interface Figures {
  exports: number;
  rows: number;
  bytes: number;
  wallSeconds: number;
  exportsPerSecond: number;
  rowsPerSecond: number;
  p50Seconds: number;
  p99Seconds: number;
  maxSeconds: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;

/** From the records' own times: first create to last `succeeded`, per export and overall. */
export function figures(outcome: RunOutcome): Figures {
  const finished = outcome.tracked.filter((t) => t.last?.finished_at && t.check);
  const latencies = finished
    .map((t) => (Date.parse(t.last!.finished_at!) - t.firstCreatedAt!) / 1000)
    .sort((a, b) => a - b);
  const first = Math.min(...finished.map((t) => t.firstCreatedAt!));
  const last = Math.max(...finished.map((t) => Date.parse(t.last!.finished_at!)));
  const wallSeconds = (last - first) / 1000;
  const rows = finished.reduce((sum, t) => sum + t.check!.rows, 0);
  const bytes = finished.reduce((sum, t) => sum + t.check!.bytes, 0);
  return {
    exports: finished.length,
    rows,
    bytes,
    wallSeconds,
    exportsPerSecond: finished.length / wallSeconds,
    rowsPerSecond: rows / wallSeconds,
    p50Seconds: percentile(latencies, 50),
    p99Seconds: percentile(latencies, 99),
    maxSeconds: latencies.at(-1) ?? Number.NaN,
  };
}

const MARK = '<!-- scale:runs -->';
const KEEP_RUNS = 10;

const INTRO = `## scale: 2 API + 3 worker processes under faults

Written by \`npm run test:scale\` (\`test/scale/\`; \`TAKEOUT_SCALE_SHORT=1\` for the short
version). Real processes: 2 \`takeout serve\` (API only), 3 \`takeout worker\` (2 exports at
once each), PostgreSQL job store (a fresh schema), a private redis-server, s3rver in its own
process, 20 owners. Every export is forced async (\`Prefer: respond-async\`), followed through
\`GET /v1/exports\`, downloaded through the 303 and checked (rows with csv-parse, SheetJS,
JSON.parse; SHA-256 against the job's). Meanwhile workers are killed with SIGKILL (and
restarted), Redis and the S3 server are each stopped for a while, each fault once a given
share of the exports has succeeded (**faults** lists each: kind, share succeeded, exports
queued or running then; rows before 2026-12-02 injected them at fixed times and list counts). Times are from the job
records (\`created_at\` of the first request to \`finished_at\` of the \`succeeded\` one);
**re-posted** counts exports that failed with a retryable code after the queue's own
retries and were created again by the harness. The machine is shared: see the load average.

| finished (UTC) | mode | exports | rows | MiB | faults | re-posted | wall s | exports/s | rows/s | p50 s | p99 s | max s | load avg start → end |
|---|---|--:|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|---|`;

export function writeResults(
  file: string,
  mode: string,
  outcome: RunOutcome,
  f: Figures,
  load: { start: number[]; end: number[] },
): string {
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(MARK);
  const end = text.indexOf('<!-- bench:scale:end -->');
  const earlier =
    start >= 0 && end > start
      ? text
          .slice(start + MARK.length, end)
          .split('\n')
          .filter((line) => line.startsWith('| 2'))
      : [];
  const faults =
    outcome.faults
      .map((fault) => `${fault.kind} @${Math.round(fault.progress * 100)}% (${fault.active} active)`)
      .join(', ') || 'none';
  const one = (n: number) => n.toFixed(1);
  const row = `| ${new Date(outcome.endedAt).toISOString().slice(0, 16).replace('T', ' ')} | ${mode} | ${f.exports} | ${Math.round(f.rows).toLocaleString('en-US')} | ${(f.bytes / 1048576).toFixed(0)} | ${faults} | ${outcome.reposts.length} | ${one(f.wallSeconds)} | ${f.exportsPerSecond.toFixed(2)} | ${Math.round(f.rowsPerSecond).toLocaleString('en-US')} | ${one(f.p50Seconds)} | ${one(f.p99Seconds)} | ${one(f.maxSeconds)} | ${load.start.map(one).join(' ')} → ${load.end.map(one).join(' ')} |`;
  const machine = `Node ${process.version} · ${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? 'unknown'})`;
  const section = `${INTRO}\n${MARK}\n${[row, ...earlier].slice(0, KEEP_RUNS).join('\n')}\n\nLatest run on ${machine}.`;
  writeFileSync(file, replaceSection(text, 'scale', section));
  return row;
}
