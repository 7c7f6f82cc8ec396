/**
 * Whether a Redis client's server is answering, from a PING every second. The rate limit asks
 * Redis on every request: while Redis is away (refusing, or silent with its connection open) it
 * skips the question instead of each request waiting out a command timeout, and instead of
 * piling up commands a silent server will never answer.
 */
import type { Redis } from 'ioredis';

export const REDIS_WATCH_EVERY_MS = 1000;

export interface RedisWatch {
  /** True from a failed or unanswered PING until one is answered. */
  readonly away: boolean;
  stop(): void;
}

export function watchRedis(client: Redis, everyMs = REDIS_WATCH_EVERY_MS): RedisWatch {
  let away = false;
  let pinging = false;
  const timer = setInterval(() => {
    // One at a time: a silent server is not sent a second PING while the first waits.
    if (pinging) return;
    pinging = true;
    client
      .ping()
      .then(
        () => {
          away = false;
        },
        () => {
          away = true;
        },
      )
      .finally(() => {
        pinging = false;
      });
  }, everyMs);
  timer.unref();
  // Closed (quit or disconnect, for good): nothing left to watch.
  client.once('end', () => clearInterval(timer));
  return {
    get away() {
      return away;
    },
    stop: () => clearInterval(timer),
  };
}
