import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RemoteJob } from '../../src/cli/remote-client.js';
import { progressLog } from '../../src/cli/remote-progress.js';

function job(status: string, rows: number): RemoteJob {
  return {
    id: 'exp_log',
    status,
    started_at: new Date(Date.now() - 10_000).toISOString(),
    progress: { rows_written: rows, bytes_written: rows * 10, rows_estimated: 1000 },
  } as unknown as RemoteJob;
}

describe('progressLog (off a terminal)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes a line when the status changes, then at most every interval while rows move', () => {
    vi.useFakeTimers({ now: Date.parse('2026-12-03T08:00:00Z') });
    const stderr = new PassThrough();
    let text = '';
    stderr.on('data', (chunk) => {
      text += chunk;
    });
    const log = progressLog(stderr, 'queued', 10_000);
    log(job('queued', 0)); // the command already said it is queued
    vi.advanceTimersByTime(30_000);
    log(job('queued', 0)); // still queued, nothing moved
    log(job('running', 100)); // the status changed: at once
    vi.advanceTimersByTime(4000);
    log(job('running', 200)); // within the interval
    vi.advanceTimersByTime(6000);
    log(job('running', 410)); // the interval has passed
    vi.advanceTimersByTime(20_000);
    log(job('running', 410)); // nothing moved
    log(job('succeeded', 1000)); // the final state has its own line
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^exp_log running: \[#+\.+\]\s+10% · 100 rows · /);
    expect(lines[1]).toMatch(/^exp_log running: \[#+\.+\]\s+41% · 410 rows · /);
  });
});
