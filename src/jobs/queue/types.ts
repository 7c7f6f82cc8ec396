/**
 * The queue seam. The job record (in the job store) is the source of truth; a queue only
 * carries export ids and decides which process runs which export when. Implementations,
 * one file each: `embedded.ts` (in-process, durable through the job table) and `bullmq.ts`
 * (Redis). Every implementation passes test/contracts/queue.ts.
 */

/** One delivery of an export id to a handler. */
export interface QueueDelivery {
  /** The export id (`exp_...`). */
  readonly id: string;
  /** 1 for the first delivery of this id, 2 for the first retry, and so on. */
  readonly attempt: number;
  /**
   * Aborted when the queue closes past its grace period (or loses the delivery, e.g. an
   * expired lock): the handler must stop, hand the record back, and settle promptly.
   */
  readonly signal: AbortSignal;
  /**
   * When a retry of this delivery will be delivered, for a queue that reads the job table
   * (embedded): the worker records it as the record's `runAfter` when it hands the job back,
   * so that every process sharing the store waits for it. The same instant on every call.
   * Absent where the queue schedules retries itself (BullMQ).
   */
  retryAt?(): Date;
  /**
   * Asks for this id to be delivered again at `until` instead of being done with when the
   * handler resolves: not an attempt, and the slot is free once the handler returns (which it
   * should do at once). A handler that throws afterwards is handled as thrown. The worker
   * defers a delivery whose record another attempt's lease holds, until that lease ends.
   * The embedded queue ignores `until`: it reads the job table, and delivers such a record
   * again once its lease ends or it is handed back.
   */
  defer?(until: Date): void;
}

/**
 * Runs one delivery. Resolving means the queue is done with it (whatever the record's final
 * state). Throwing a `TakeoutError` whose `retryable` is true asks for another delivery
 * later (exponential backoff with jitter, bounded attempts); any other error ends it.
 */
export type QueueHandler = (delivery: QueueDelivery) => Promise<void>;

export interface EnqueueOptions {
  /** The record's `queueRank` (default 0: no one ahead). */
  rank?: number;
}

export interface ConsumeOptions {
  /** Deliveries handled at once by this process. */
  concurrency: number;
}

export interface ExportQueue {
  /** `embedded` or `bullmq`. */
  readonly kind: string;
  /**
   * Makes the export id deliverable. Enqueuing an id that is already waiting is a no-op.
   * `rank` is the record's `queueRank`: waiting deliveries of lower rank go first, so that one
   * owner's backlog does not hold up everyone else (the embedded queue reads it from the store).
   */
  enqueue(id: string, options?: EnqueueOptions): Promise<void>;
  /** Starts handing deliveries to `handler` until `close`. Call at most once. */
  consume(handler: QueueHandler, options: ConsumeOptions): Promise<void>;
  /** Throws when the queue's backend cannot be reached (readiness); absent: nothing beyond the store. */
  ping?(): Promise<void>;
  /** Deliveries by state (`waiting`, `active`, `delayed`) for metrics; absent: the store's `queued` count. */
  depth?(): Promise<Record<string, number>>;
  /**
   * Stops taking new deliveries, waits up to `graceMs` for running handlers, then aborts
   * their signals and waits for them to settle. Releases connections. Called again during a
   * close, it returns that close; with `graceMs` 0 it ends the grace at once (a second SIGTERM).
   */
  close(graceMs?: number): Promise<void>;
}
