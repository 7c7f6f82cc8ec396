/**
 * One run of the scale harness: creates every planned export across the API processes,
 * follows them to their end while the faults happen, downloads and checks each file, and
 * re-posts an export that failed with a retryable code (counted: the queue's own retries
 * are the first line, this is the client's). Returns what it saw; the test judges it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type JobDocument, ScaleClient, Tally } from './client.js';
import type { ScaleDeployment } from './deployment.js';
import { type FaultPlan, type FaultRecord, injectFaults, type RunState } from './faults.js';
import type { FileCheck } from './verify.js';
import type { PlannedExport } from './workload.js';

export interface TrackedExport {
  planned: PlannedExport;
  /** Job ids in order: the first, then one per re-post. */
  ids: string[];
  firstCreatedAt?: number;
  last?: JobDocument;
  check?: FileCheck;
  /** Failures that are not retryable, or a check that threw. */
  problem?: string;
  done: boolean;
}

export interface RunOutcome {
  tracked: TrackedExport[];
  faults: FaultRecord[];
  retries: Record<string, number>;
  reposts: { id: string; code: string }[];
  startedAt: number;
  endedAt: number;
}

/** Runs `work` over `items` with at most `limit` at once. */
async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
}

export async function runScale(
  deployment: ScaleDeployment,
  planned: PlannedExport[],
  faultPlans: FaultPlan[],
  options: { timeoutMs: number; downloads: number },
): Promise<RunOutcome> {
  const retries = new Tally();
  const client = new ScaleClient(
    deployment.apis.map((api) => api.base),
    deployment.owners,
    retries,
  );
  const startedAt = Date.now();
  const deadline = startedAt + options.timeoutMs;
  const tracked: TrackedExport[] = planned.map((p) => ({ planned: p, ids: [], done: false }));
  const byId = new Map<string, TrackedExport>();
  const reposts: { id: string; code: string }[] = [];

  const create = async (t: TrackedExport) => {
    const doc = await client.create(t.planned, deadline);
    t.ids.push(doc.id);
    t.firstCreatedAt ??= Date.parse(doc.created_at);
    t.last = doc;
    byId.set(doc.id, t);
  };

  const table = `${deployment.schema.name}.takeout_exports`;
  const state = async (): Promise<RunState> => {
    const { rows } = await deployment.schema.admin.query(
      `SELECT count(*) FILTER (WHERE status = 'succeeded') AS done,
              count(*) FILTER (WHERE status IN ('queued', 'running', 'canceling')) AS active
         FROM ${table}`,
    );
    return { progress: Number(rows[0].done) / planned.length, active: Number(rows[0].active) };
  };

  // A fault that could not be carried out (a worker that did not restart) ends the run early.
  let faultError: unknown;
  const runEnded = new AbortController();
  const faults = injectFaults(deployment, faultPlans, startedAt, state, runEnded.signal).catch(
    (error: unknown) => {
      faultError = error;
      return [];
    },
  );
  await pool(tracked, 50, create);

  // Downloads go through a small pool so that checking files does not starve the machine.
  const waiting: TrackedExport[] = [];
  let downloading = 0;
  const pumpDownloads = () => {
    while (downloading < options.downloads && waiting.length > 0) {
      const t = waiting.shift()!;
      const id = t.ids.at(-1)!;
      downloading++;
      client
        .download(t.planned.owner, t.planned, id, deadline)
        .then(
          (check) => {
            t.check = check;
          },
          (error: unknown) => {
            t.problem = `download: ${String(error)}`;
          },
        )
        .finally(() => {
          t.done = true;
          downloading--;
          pumpDownloads();
        });
    }
  };

  const seen = new Set<string>(); // ids whose end was handled
  const follow = async (owner: number) => {
    for (const doc of await client.list(owner, deadline)) {
      const t = byId.get(doc.id);
      if (!t || t.ids.at(-1) !== doc.id || seen.has(doc.id)) continue;
      t.last = doc;
      if (doc.status === 'succeeded') {
        seen.add(doc.id);
        waiting.push(t);
      } else if (doc.status === 'failed' && doc.error?.retryable) {
        seen.add(doc.id);
        reposts.push({ id: doc.id, code: doc.error.code });
        await create(t);
      } else if (['failed', 'canceled', 'expired'].includes(doc.status)) {
        seen.add(doc.id);
        t.problem = `${doc.status}: ${JSON.stringify(doc.error)}`;
        t.done = true;
      }
    }
  };

  const owners = deployment.owners.map((_, i) => i);
  while (tracked.some((t) => !t.done)) {
    if (Date.now() > deadline || faultError) break;
    await Promise.all(owners.map(follow));
    pumpDownloads();
    await sleep(1000);
  }
  const endedAt = Date.now();
  runEnded.abort();
  const injected = await faults;
  if (faultError) throw faultError;
  return {
    tracked,
    faults: injected,
    retries: retries.toJSON(),
    reposts,
    startedAt,
    endedAt,
  };
}
