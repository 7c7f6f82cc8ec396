/**
 * The faults the harness injects while exports run, one after another as the run reaches
 * given shares of its exports succeeded (not at fixed times: a fast run would end before a
 * late fault, which would then hit an idle deployment): SIGKILL of a worker process
 * (restarted at once), Redis stopped, the S3 server stopped. Each is recorded with when it
 * happened and what was in flight.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ScaleDeployment } from './deployment.js';

export type FaultKind = 'kill-worker' | 'redis-down' | 's3-down';

export interface FaultPlan {
  kind: FaultKind;
  /** The share of the run's exports succeeded (0-1) at which the fault happens. */
  atProgress: number;
  /** How long Redis or S3 stays down, seconds. */
  downSeconds?: number;
}

export interface FaultRecord {
  kind: FaultKind;
  atSeconds: number;
  /** The share of exports succeeded at that moment (0-1). */
  progress: number;
  /** Exports queued or running in the job store at that moment. */
  active: number;
  /** For a kill: the exports the killed worker had started and not finished. */
  victimRunning?: number;
}

const ENDED = new Set([
  'export succeeded',
  'export failed',
  'export failed; will retry',
  'export failed: out of attempts',
  'export canceled',
  'export handed back at shutdown',
  'export handed back: the queue lost its delivery (lock expired)',
  'export failed; not retried',
  'export stopped: the job is no longer this attempt’s',
  'could not record how the export ended; it runs again once its lease ends',
  'export finished but another outcome won',
]);

/** Exports a worker process started and has not ended, from its log. */
function runningIn(lines: { msg: string; exportId?: unknown }[]): number {
  const running = new Set<unknown>();
  for (const line of lines) {
    if (line.msg === 'export started') running.add(line.exportId);
    else if (ENDED.has(line.msg)) running.delete(line.exportId);
  }
  return running.size;
}

/** Where the run stands, from the job store. */
export interface RunState {
  /** Share of the run's exports succeeded, 0-1. */
  progress: number;
  /** Exports queued, running or canceling. */
  active: number;
}

/**
 * Injects the faults in order, each once the run reaches its `atProgress`. Stops early (with
 * the faults injected so far; the test then sees one missing) when `stop` is aborted.
 */
export async function injectFaults(
  deployment: ScaleDeployment,
  plans: FaultPlan[],
  startedAt: number,
  state: () => Promise<RunState>,
  stop: AbortSignal,
): Promise<FaultRecord[]> {
  const records: FaultRecord[] = [];
  const restarts: Promise<void>[] = [];
  for (const plan of plans) {
    // Each kill picks among running workers: the one killed before has restarted.
    if (plan.kind === 'kill-worker') await restarts.at(-1);
    // A kill waits for a worker in the middle of an export too (after the Redis outage, the
    // workers may be idle a while: the sweeper enqueues again what Redis lost).
    const busyWorkers = () =>
      deployment.workers
        .map((worker, index) => ({ index, running: runningIn(worker.lines as never) }))
        .filter((w) => w.running > 0);
    const ready = (now: RunState) =>
      now.progress >= plan.atProgress && (plan.kind !== 'kill-worker' || busyWorkers().length > 0);
    let now = await state();
    while (!ready(now) && !stop.aborted) {
      await sleep(200);
      now = await state();
    }
    if (stop.aborted) break;
    const record: FaultRecord = {
      kind: plan.kind,
      atSeconds: Math.round((Date.now() - startedAt) / 100) / 10,
      progress: now.progress,
      active: now.active,
    };
    records.push(record);
    const down = (plan.downSeconds ?? 10) * 1000;
    if (plan.kind === 'kill-worker') {
      // A worker in the middle of an export.
      const busy = busyWorkers();
      const pick =
        busy.length > 0 ? busy[Math.floor(Math.random() * busy.length)]! : { index: 0, running: 0 };
      record.victimRunning = pick.running;
      const { restarted } = await deployment.killWorker(pick.index);
      restarted.catch(() => {}); // awaited below; not unhandled meanwhile
      restarts.push(restarted);
    } else if (plan.kind === 'redis-down') {
      await deployment.redis.down();
      await sleep(down);
      await deployment.redis.up();
    } else {
      await deployment.s3.down();
      await sleep(down);
      await deployment.s3.up();
    }
  }
  await Promise.all(restarts);
  return records;
}
