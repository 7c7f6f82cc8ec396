import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { jobEvents } from '../../src/http/jobs/events.js';
import type { JobRecord } from '../../src/jobs/types.js';

const base: JobRecord = {
  id: 'exp_AAAAAAAAAAAAAAAAAAAAAA',
  owner: { id: 'ann' },
  principal: { id: 'ann' },
  request: { version: 1, format: 'csv', dataset: 'orders' },
  status: 'running',
  attempt: 1,
  progress: { rowsWritten: 0, bytesWritten: 0 },
  createdAt: new Date('2026-01-01T00:00:00Z'),
  updatedAt: new Date('2026-01-01T00:00:01Z'),
  startedAt: new Date('2026-01-01T00:00:01Z'),
  requestHash: 'h',
};

const at = (seconds: number, patch: Partial<JobRecord> = {}): JobRecord => ({
  ...base,
  ...patch,
  updatedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, seconds)),
});

describe('job events', () => {
  it('sends a progress event only when the document changed, not for each lease renewal', async () => {
    // The record as read each interval: lease renewals move updatedAt and nothing else.
    const states = [
      at(2),
      at(3),
      at(4, { progress: { rowsWritten: 10, bytesWritten: 99 } }),
      at(5, { progress: { rowsWritten: 10, bytesWritten: 99 } }),
      at(6, {
        status: 'failed',
        finishedAt: new Date('2026-01-01T00:00:06Z'),
        progress: { rowsWritten: 10, bytesWritten: 99 },
        error: { code: 'source_error', message: 'down', retryable: false },
      }),
    ];
    const app = Fastify();
    app.get('/events', (request, reply) =>
      jobEvents(request, reply, {
        first: at(1),
        next: async () => states.shift(),
        prefix: '',
        intervalMs: 5,
      }),
    );
    const answer = await app.inject({ url: '/events' });
    await app.close();
    const events = answer.body
      .split('\n\n')
      .filter((block) => block.startsWith('id:'))
      .map((block) => ({
        event: /^event: (.*)$/m.exec(block)?.[1],
        rows: JSON.parse(/^data: (.*)$/m.exec(block)![1]!).progress.rows_written,
      }));
    expect(events).toEqual([
      { event: 'progress', rows: 0 },
      { event: 'progress', rows: 10 },
      { event: 'failed', rows: 10 },
    ]);
  });

  it("ends the stream when the caller's credentials end (a JWT's exp), before the job does", async () => {
    let reads = 0;
    const app = Fastify();
    app.get('/events', (request, reply) =>
      jobEvents(request, reply, {
        first: at(1),
        // Running for ever: only the credentials' end stops this stream.
        next: async () => at(2 + reads++, { progress: { rowsWritten: reads, bytesWritten: reads } }),
        prefix: '',
        intervalMs: 5,
        until: Date.now() + 60,
      }),
    );
    const started = Date.now();
    const answer = await app.inject({ url: '/events' });
    await app.close();
    expect(Date.now() - started).toBeLessThan(2000);
    const events = answer.body.split('\n\n').filter((block) => block.startsWith('id:'));
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((block) => block.includes('event: progress'))).toBe(true);
    // It says why it ends in a comment (every event's data stays a job document).
    expect(answer.body.trimEnd().split('\n\n').at(-1)).toBe(
      ': the token has expired: reconnect with a fresh one',
    );
  });
});
