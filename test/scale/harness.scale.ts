/**
 * The scale harness (npm run test:scale; TAKEOUT_SCALE_SHORT=1 for a version of a minute or
 * two): 2 API and 3 worker processes on PostgreSQL, a private Redis and s3rver; hundreds of
 * exports from 20 owners while workers are killed and Redis and S3 go down. Every export
 * must end `succeeded` with a file that checks out, and nothing may be left behind.
 */
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { type ScaleDeployment, startScaleDeployment } from './deployment.js';
import type { FaultPlan } from './faults.js';
import { saveLogs } from './logs.js';
import { figures, writeResults } from './report.js';
import { type RunOutcome, runScale } from './run.js';
import { auditDeployment } from './storage-audit.js';
import { planWorkload } from './workload.js';

const SHORT = process.env.TAKEOUT_SCALE_SHORT === '1';
const shape = SHORT
  ? { requests: 60, owners: 20, large: 2, medium: 8 }
  : { requests: 300, owners: 20, large: 10, medium: 50 };
// Each fault once this share of the exports has succeeded, so that all of them land while
// exports are in flight however fast the machine is (the test checks they did).
const faultPlans: FaultPlan[] = SHORT
  ? [
      { kind: 'kill-worker', atProgress: 0.15 },
      { kind: 'redis-down', atProgress: 0.35, downSeconds: 5 },
      { kind: 's3-down', atProgress: 0.6, downSeconds: 5 },
    ]
  : [
      { kind: 'kill-worker', atProgress: 0.1 },
      { kind: 'redis-down', atProgress: 0.25, downSeconds: 10 },
      { kind: 'kill-worker', atProgress: 0.45 },
      { kind: 's3-down', atProgress: 0.6, downSeconds: 10 },
      { kind: 'kill-worker', atProgress: 0.8 },
    ];

let deployment: ScaleDeployment;
beforeAll(async () => {
  deployment = await startScaleDeployment({ apis: 2, workers: 3, owners: shape.owners, concurrency: 2 });
});
afterAll(async () => {
  await deployment?.stop();
});

it(`${shape.requests} exports from ${shape.owners} owners end succeeded through worker kills, a Redis and an S3 outage`, async () => {
  onTestFailed(() => {
    console.log(`process logs: ${saveLogs(deployment)}`);
  });
  const load = { start: loadavg(), end: [] as number[] };
  const outcome: RunOutcome = await runScale(deployment, planWorkload(shape), faultPlans, {
    timeoutMs: (SHORT ? 6 : 15) * 60_000,
    downloads: 3,
  });
  load.end = loadavg();
  const f = figures(outcome);
  console.log(
    JSON.stringify(
      { figures: f, faults: outcome.faults, reposts: outcome.reposts, retries: outcome.retries, load },
      null,
      1,
    ),
  );

  // Every export ended succeeded (re-posted ones included) and its file checks out.
  const problems = outcome.tracked.filter((t) => t.problem || !t.done || !t.check);
  expect(problems.map((t) => ({ ids: t.ids, problem: t.problem, status: t.last?.status }))).toEqual([]);
  for (const t of outcome.tracked) {
    expect(t.last!.status).toBe('succeeded');
    expect(t.check!.rows).toBe(t.planned.rows);
    expect(t.last!.result!.row_count).toBe(t.planned.rows);
    expect(t.check!.sha256).toBe(t.last!.result!.sha256);
    expect(t.check!.bytes).toBe(t.last!.result!.size_bytes);
  }
  expect(outcome.faults.map((fault) => fault.kind)).toEqual(faultPlans.map((plan) => plan.kind));
  // Every fault hit a deployment at work, and each kill a worker in the middle of an export.
  expect(outcome.faults.filter((fault) => fault.active === 0)).toEqual([]);
  expect(outcome.faults.filter((fault) => fault.kind === 'kill-worker' && !fault.victimRunning)).toEqual([]);

  // Nothing left behind: one file per succeeded export, none for the failed ones, no staged
  // rows, no unfinished multipart uploads, no record still queued or running.
  const audit = await auditDeployment(deployment);
  const finalIds = outcome.tracked.map((t) => t.ids.at(-1)!).sort();
  expect([...audit.filesById.keys()].sort()).toEqual(finalIds);
  expect([...audit.filesById.values()].filter((keys) => keys.length !== 1)).toEqual([]);
  expect(audit.otherKeys).toEqual([]);
  expect(audit.uploads).toEqual([]);
  expect(audit.statuses).toEqual({
    succeeded: shape.requests,
    ...(outcome.reposts.length > 0 ? { failed: outcome.reposts.length } : {}),
  });

  const results = fileURLToPath(new URL('../../bench/RESULTS.md', import.meta.url));
  console.log(writeResults(process.env.BENCH_RESULTS ?? results, SHORT ? 'short' : 'full', outcome, f, load));
});
