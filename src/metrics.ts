/**
 * The service's Prometheus metrics (prom-client), in a registry the service owns (never
 * prom-client's global one, so two services in one process do not mix). Parts record into it
 * through the members below; gauges that describe shared state (jobs by state, queue depth)
 * are read when scraped. Names and meanings: docs/operations.md#metrics.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ExportQueue } from './jobs/queue/types.js';
import { JOB_STATUSES, type JobStore } from './jobs/types.js';
import { withTimeout } from './settle.js';
import { takeoutVersion } from './version.js';

/** How long a scrape waits for the job store or the queue before it keeps the last values, ms. */
const SCRAPE_TIMEOUT_MS = 2000;
/** Counts from the store are reused this long, so frequent scrapes from many processes stay cheap, ms. */
const STORE_COUNT_TTL_MS = 5000;

/** How an export job attempt ended, as the duration histogram labels it. */
/** How an attempt ended: `lost` when the job was no longer its own, `unrecorded` when the store could not be told. */
export type AttemptOutcome =
  | 'succeeded'
  | 'failed'
  | 'retried'
  | 'canceled'
  | 'handed_back'
  | 'lost'
  | 'unrecorded';

export interface TakeoutMetrics {
  readonly registry: Registry;
  /** Time of one job attempt from its start to its outcome, seconds, by format and outcome. */
  readonly jobDuration: Histogram<'format' | 'outcome'>;
  /** Rows written by exports, by path (`sync` or `job`) and format. */
  readonly rowsWritten: Counter<'path' | 'format'>;
  /** Bytes of files written by exports, by path and format. */
  readonly bytesWritten: Counter<'path' | 'format'>;
  /** Attempts that failed with a retryable error and were handed back for a retry, by code. */
  readonly jobRetries: Counter<'code'>;
  /** Notification attempts that failed (each failed try counts once), by channel (`webhook`, `email`, `service`). */
  readonly notificationFailures: Counter<'channel'>;
  /** Reads sync exports in flight from `running()` when scraped (the HTTP server's slots). */
  observeSync(running: () => number): void;
  /** Reads jobs by state from `store` and queue depth from `queue` when scraped. */
  observeJobs(store: JobStore, queue: ExportQueue): void;
  /** The exposition text and its content type. */
  scrape(): Promise<{ contentType: string; body: string }>;
}

/**
 * `read`, asked at most once per STORE_COUNT_TTL_MS (the gauges of one scrape, and frequent
 * scrapes from many processes, share an answer) and within SCRAPE_TIMEOUT_MS; a failed answer
 * is not kept: the next scrape asks again.
 */
function reusedForAWhile<T>(read: () => Promise<T>): (() => Promise<T>) & { forget(): void } {
  let kept: { at: number; value: Promise<T> } | undefined;
  const get = () => {
    if (!kept || Date.now() - kept.at > STORE_COUNT_TTL_MS) {
      const value = withTimeout(read(), SCRAPE_TIMEOUT_MS);
      kept = { at: Date.now(), value };
      value.catch(() => {
        if (kept?.value === value) kept = undefined;
      });
    }
    return kept.value;
  };
  return Object.assign(get, {
    forget: () => {
      kept = undefined;
    },
  });
}

/** A fresh registry with Takeout's metrics and Node's default process metrics. */
export function createMetrics(): TakeoutMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  let syncRunning: (() => number) | undefined;
  let jobs: { store: JobStore; queue: ExportQueue } | undefined;
  /** The store's counts, shared by the gauges of one scrape and reused for a few seconds. */
  const storeCounts = reusedForAWhile(
    async (): Promise<Partial<Record<string, number>>> => (await jobs?.store.countByStatus?.()) ?? {},
  );
  const backlog = reusedForAWhile(async () => (await jobs?.store.deliveryBacklog?.()) ?? { pending: 0 });

  // The usual build-info gauge: 1, labelled with what runs (tells old and new processes apart).
  new Gauge({
    name: 'takeout_build_info',
    help: 'Always 1; its labels name the Takeout version and the Node.js version of this process',
    labelNames: ['version', 'node'],
    registers,
  }).set({ version: takeoutVersion(), node: process.versions.node }, 1);

  new Gauge({
    name: 'takeout_sync_exports_in_flight',
    help: 'Exports streaming in HTTP responses in this process now',
    registers,
    collect() {
      this.set(syncRunning?.() ?? 0);
    },
  });

  new Gauge({
    name: 'takeout_jobs',
    help: 'Export jobs by state, from the job store (shared by every process)',
    labelNames: ['state'],
    registers,
    async collect() {
      if (!jobs) return;
      // Unreachable store: the last values stay (the readiness check says what is wrong).
      const counts = await storeCounts().catch(() => undefined);
      if (!counts) return;
      for (const state of JOB_STATUSES) this.set({ state }, counts[state] ?? 0);
    },
  });

  new Gauge({
    name: 'takeout_queue_depth',
    help: 'Deliveries in the job queue by state (waiting, active, delayed); shared by every process',
    labelNames: ['state'],
    registers,
    async collect() {
      if (!jobs) return;
      const { queue } = jobs;
      const depth = await (queue.depth
        ? withTimeout(queue.depth(), SCRAPE_TIMEOUT_MS)
        : storeCounts().then((c) => ({ waiting: c.queued ?? 0, active: c.running ?? 0 }))
      ).catch(() => undefined);
      if (!depth) return;
      for (const [state, n] of Object.entries(depth)) this.set({ state }, n);
    },
  });

  new Gauge({
    name: 'takeout_notifications_pending',
    help: 'Notifications (webhooks, emails) still to send, retries included; from the job store',
    registers,
    async collect() {
      if (!jobs) return;
      const now = await backlog().catch(() => undefined);
      if (now) this.set(now.pending);
    },
  });

  new Gauge({
    name: 'takeout_notifications_oldest_pending_seconds',
    help: 'Age of the oldest notification still to send (0 when none is); a growing one means sends are stuck',
    registers,
    async collect() {
      if (!jobs) return;
      const now = await backlog().catch(() => undefined);
      if (!now) return;
      const oldest = now.oldestCreatedAt?.getTime();
      this.set(oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
    },
  });

  return {
    registry,
    jobDuration: new Histogram({
      name: 'takeout_job_duration_seconds',
      help: 'Duration of export job attempts, from start to outcome',
      labelNames: ['format', 'outcome'],
      // Up to a day: TAKEOUT_JOB_TIMEOUT may be longer than its default hour.
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14_400, 43_200, 86_400],
      registers,
    }),
    rowsWritten: new Counter({
      name: 'takeout_rows_written_total',
      help: 'Rows written by finished exports (path: sync or job)',
      labelNames: ['path', 'format'],
      registers,
    }),
    bytesWritten: new Counter({
      name: 'takeout_bytes_written_total',
      help: 'Bytes of files written by finished exports (path: sync or job)',
      labelNames: ['path', 'format'],
      registers,
    }),
    jobRetries: new Counter({
      name: 'takeout_job_retries_total',
      help: 'Export job attempts that failed with a retryable error and will be retried',
      labelNames: ['code'],
      registers,
    }),
    notificationFailures: new Counter({
      name: 'takeout_notification_failures_total',
      help: 'Notification attempts (webhook, email) that failed; each failed try counts once',
      labelNames: ['channel'],
      registers,
    }),
    observeSync(running) {
      syncRunning = running;
    },
    observeJobs(store, queue) {
      jobs = { store, queue };
      storeCounts.forget();
      backlog.forget();
    },
    async scrape() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
