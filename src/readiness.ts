/**
 * Readiness: can this process do its work now? Each dependency (job store, queue, storage)
 * is asked something cheap, all at once, each within a short timeout. Used by `/readyz` on
 * the API and on a worker's metrics port (docs/operations.md#health-and-readiness).
 */
import { isTakeoutError } from './errors.js';
import type { ExportQueue } from './jobs/queue/types.js';
import type { JobStore } from './jobs/types.js';
import type { Storage } from './storage/types.js';

/** How long one dependency may take to answer, ms. */
export const READINESS_TIMEOUT_MS = 2000;

export interface ReadinessTargets {
  store?: JobStore | undefined;
  queue?: ExportQueue | undefined;
  storage?: Storage | undefined;
}

export type CheckName = 'store' | 'queue' | 'storage';

export interface Readiness {
  ready: boolean;
  /** Every check that ran: `ok`, or why it failed (a short reason, never a connection string). */
  checks: Partial<Record<CheckName, 'ok' | 'failed' | 'timeout'>>;
  /** The checks that did not pass. */
  failed: CheckName[];
  /**
   * Why each failed check failed (the error's message: a code and what it means, never a
   * connection string), for the log: `/readyz` is public, so its answer does not carry them.
   */
  reasons: Partial<Record<CheckName, string>>;
}

type Outcome = { result: 'ok' | 'failed' | 'timeout'; reason?: string };

/** A key no export can have (ids are `exp_...`): looking it up proves the store answers. */
const PROBE_ID = 'readiness-probe';

/** What each check asks; `signal` ends a probe given up on, so that it holds no connection. */
function probes(targets: ReadinessTargets): [CheckName, (signal: AbortSignal) => Promise<unknown>][] {
  const { store, queue, storage } = targets;
  const list: [CheckName, (signal: AbortSignal) => Promise<unknown>][] = [];
  if (store) list.push(['store', () => store.get(PROBE_ID)]);
  if (queue?.ping) list.push(['queue', () => queue.ping!()]);
  if (storage) {
    // Listing a prefix that holds nothing fails on a missing bucket or refused credentials,
    // and answers at once otherwise (a HEAD of a missing key would not tell a missing bucket).
    list.push([
      'storage',
      async (signal) => {
        for await (const _ of storage.list(`${storage.prefix}.readiness-probe/`, signal)) break;
      },
    ]);
  }
  return list;
}

/** A TakeoutError's message (ours: never a secret); of anything else only its code or name. */
function reasonOf(error: unknown): string {
  if (isTakeoutError(error)) return error.message;
  const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
  return typeof code === 'string' ? code : typeof name === 'string' ? name : 'failed';
}

async function run(probe: (signal: AbortSignal) => Promise<unknown>, timeoutMs: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const givenUp = new AbortController();
  const timeout = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => {
      givenUp.abort();
      resolve({ result: 'timeout', reason: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
  });
  try {
    const answered = probe(givenUp.signal).then((): Outcome => ({ result: 'ok' }));
    // The probe given up on rejects (aborted) later: nobody waits for it any more.
    answered.catch(() => {});
    return await Promise.race([answered, timeout]);
  } catch (error) {
    return { result: 'failed', reason: reasonOf(error) };
  } finally {
    clearTimeout(timer);
  }
}

export async function checkReadiness(
  targets: ReadinessTargets,
  timeoutMs = READINESS_TIMEOUT_MS,
): Promise<Readiness> {
  const results = await Promise.all(
    probes(targets).map(async ([name, probe]) => [name, await run(probe, timeoutMs)] as const),
  );
  const checks = Object.fromEntries(
    results.map(([name, outcome]) => [name, outcome.result]),
  ) as Readiness['checks'];
  const failed = results.filter(([, outcome]) => outcome.result !== 'ok').map(([name]) => name);
  const reasons = Object.fromEntries(
    results.filter(([, outcome]) => outcome.reason).map(([name, outcome]) => [name, outcome.reason]),
  ) as Readiness['reasons'];
  return { ready: failed.length === 0, checks, failed, reasons };
}
