/**
 * The embedded queue: no Redis, the job table is the queue. It delivers queued records, and
 * running records whose lease ended (their worker died; after a restart this is how the
 * interrupted jobs come back). Several processes may share one store: the worker's
 * conditional claim decides who runs a job, so a double delivery is harmless.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isTakeoutError } from '../../errors.js';
import { Grace } from '../../settle.js';
import { countedAttempts } from '../lifecycle.js';
import type { JobRecord, JobStore } from '../types.js';
import { type BackoffOptions, DEFAULT_BACKOFF, retryDelay } from './backoff.js';
import type { ConsumeOptions, ExportQueue, QueueHandler } from './types.js';

export interface EmbeddedQueueOptions {
  store: JobStore;
  /** How often the table is checked for work nobody announced (other processes, expired leases), ms. Default 1000. */
  pollIntervalMs?: number;
  /** Deliveries of one id at most, retries included. Default 3. */
  maxAttempts?: number;
  /** Retry delays. Default DEFAULT_BACKOFF (10 s doubling to 10 min, with jitter), as BullMQ's. */
  backoff?: BackoffOptions;
  /** Called when the table could not be read; the queue tries again at the next poll. */
  onError?: (error: unknown) => void;
}

/** After this long a record still deliverable after a settled delivery is delivered again. */
const SETTLED_MEMORY_MS = 10 * 60_000;

export function embeddedQueue(options: EmbeddedQueueOptions): ExportQueue {
  const { store } = options;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const maxAttempts = options.maxAttempts ?? 3;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;

  const running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  /** Deliveries made in this process per id (attempts survive restarts through the record). */
  const delivered = new Map<string, number>();
  /** Not before this instant: retry backoff. */
  const notBefore = new Map<string, number>();
  /** Ids whose deliveries this process has settled or given up on, and when (bounded by SETTLED_MEMORY_MS). */
  const settled = new Map<string, number>();
  let handler: QueueHandler | undefined;
  let concurrency = 1;
  let closing = false;
  let wake: (() => void) | undefined;
  /** Set by every poke: one that comes while the loop reads the table is not lost. */
  let poked = false;
  let loop: Promise<void> | undefined;
  let closed: Promise<void> | undefined;
  let grace: Grace | undefined;

  const poke = () => {
    poked = true;
    wake?.();
  };

  const candidates = async (): Promise<JobRecord[]> => {
    const now = new Date();
    const limit = concurrency + running.size + notBefore.size + settled.size;
    const [queued, abandoned] = await Promise.all([
      store.find({
        status: ['queued'],
        field: 'runAfter',
        before: now,
        orUnset: true,
        limit,
        order: 'queueRank',
      }),
      store.find({ status: ['running', 'canceling'], field: 'leaseExpiresAt', before: now, limit }),
    ]);
    return [...abandoned, ...queued];
  };

  const deliver = (job: JobRecord) => {
    // Claims handed back at a shutdown do not count (countedAttempts), here as in the record.
    const attempt = Math.max(countedAttempts(job), delivered.get(job.id) ?? 0) + 1;
    delivered.set(job.id, attempt);
    notBefore.delete(job.id); // its backoff is over: the loop must not keep waking for it
    const controller = new AbortController();
    let retryAt: number | undefined;
    const retryTime = () => (retryAt ??= Date.now() + retryDelay(attempt, backoff));
    let held = false;
    const done = (async () => {
      try {
        await handler!({
          id: job.id,
          attempt,
          signal: controller.signal,
          retryAt: () => new Date(retryTime()),
          // Another attempt's lease holds the record (a process sharing the store claimed it
          // first): candidates() finds it again once that lease ends or its holder hands it
          // back, so nothing is scheduled, and the id must not be remembered as settled, or
          // a hand-back would wait out SETTLED_MEMORY_MS here.
          defer: () => {
            held = true;
          },
        });
        if (held)
          delivered.delete(job.id); // it ran nothing: not a delivery to count
        else forget(job.id);
      } catch (error) {
        if (isTakeoutError(error) && error.retryable && attempt < maxAttempts && !closing) {
          notBefore.set(job.id, retryTime());
        } else {
          forget(job.id);
        }
      } finally {
        running.delete(job.id);
        poke();
      }
    })();
    running.set(job.id, { controller, done });
  };

  const forget = (id: string) => {
    delivered.delete(id);
    notBefore.delete(id);
    settled.set(id, Date.now());
  };

  const fill = async () => {
    if (running.size >= concurrency) return;
    const now = Date.now();
    for (const [id, at] of settled) if (now - at > SETTLED_MEMORY_MS) settled.delete(id);
    const found = await candidates();
    const due = new Set(found.map((job) => job.id));
    // A retry whose record is no longer deliverable (canceled, taken by another process,
    // deleted) is forgotten once its time has come, or it would wake the loop for ever.
    for (const [id, at] of notBefore) {
      if (at <= Date.now() && !due.has(id)) {
        notBefore.delete(id);
        delivered.delete(id);
      }
    }
    for (const job of found) {
      if (closing || running.size >= concurrency) return;
      if (running.has(job.id)) continue;
      // A queued record is delivered once; one whose lease ended is due again whatever came before.
      if (job.status === 'queued' && settled.has(job.id)) continue;
      if ((notBefore.get(job.id) ?? 0) > Date.now()) continue;
      deliver(job);
    }
  };

  const nextWake = () => {
    const now = Date.now();
    let wait = pollIntervalMs;
    // Retries not yet due; one already due was not deliverable (the slots were full): a
    // finished delivery pokes the loop, so no need to wake for it.
    for (const at of notBefore.values()) if (at > now) wait = Math.min(wait, at - now);
    return wait;
  };

  const run = async () => {
    while (!closing) {
      poked = false;
      try {
        await fill();
      } catch (error) {
        options.onError?.(error);
      }
      if (closing) break;
      // An enqueue or a finished delivery during fill(): look again now, not a poll later.
      if (poked) continue;
      const wakeup = new AbortController();
      wake = () => wakeup.abort();
      await sleep(nextWake(), undefined, { signal: wakeup.signal }).catch(() => {});
      wake = undefined;
    }
  };

  return {
    kind: 'embedded',
    async enqueue(id: string) {
      // The record is already `queued` in the store: only tell the loop not to wait.
      settled.delete(id);
      notBefore.delete(id);
      poke();
    },
    async consume(nextHandler: QueueHandler, consumeOptions: ConsumeOptions) {
      if (handler) throw new Error('consume() was already called on this queue');
      handler = nextHandler;
      concurrency = Math.max(1, consumeOptions.concurrency);
      loop = run();
    },
    close(graceMs?: number) {
      // An explicit close(0) during a close ends its grace: running deliveries are aborted now.
      // (A plain close() is the default grace, 0 here, and leaves a close under way as it is.)
      if (closed && graceMs === 0) grace?.end();
      closed ??= (async () => {
        grace = new Grace(graceMs ?? 0);
        closing = true;
        poke();
        await loop;
        const all = () => Promise.allSettled([...running.values()].map((entry) => entry.done));
        // Grace clears its timer: a sleep left running kept the process alive for the whole
        // grace period after the last delivery had ended.
        if (running.size > 0 && (graceMs ?? 0) > 0) await grace.wait(all());
        for (const entry of running.values()) entry.controller.abort();
        await all();
      })();
      return closed;
    },
  };
}
