/** How an attempt ends early: the reasons it is stopped for, and what it logs at shutdown. */

/** Why an attempt was stopped before its end. */
export type StopReason = 'shutdown' | 'canceled' | 'lost' | 'timeout';

/** What an attempt stopped by a shutdown (or a lost delivery) logs, by how its release went. */
export const STOPPED_AT_SHUTDOWN: Record<string, string> = {
  handed_back: 'export handed back at shutdown',
  queue_lost: 'export handed back: the queue lost its delivery (lock expired)',
  canceled: 'export canceled',
  lost: 'export stopped: the job is no longer this attempt’s',
};

export class Stop extends Error {
  constructor(readonly reason: StopReason) {
    super(`export stopped: ${reason}`);
  }
}
