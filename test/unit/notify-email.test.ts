/** The email's words: what it calls the export, with a file and without one. */
import { describe, expect, it } from 'vitest';
import type { JobRecord } from '../../src/jobs/types.js';
import { emailMessage } from '../../src/notify/email.js';
import { eventData } from '../../src/notify/payload.js';

const base = {
  id: 'exp_AAAAAAAAAAAAAAAAAAAAAA',
  owner: { id: 'ada' },
  principal: {},
  attempt: 1,
  progress: { rowsWritten: 0, bytesWritten: 0 },
  createdAt: new Date('2026-12-01T10:00:00Z'),
  updatedAt: new Date('2026-12-01T10:01:00Z'),
  requestHash: 'x',
} satisfies Partial<JobRecord>;

const failed = (request: Record<string, unknown>): JobRecord => ({
  ...base,
  request,
  status: 'failed',
  error: { code: 'source_error', message: 'The data source failed', retryable: false },
});

describe('the notification email', () => {
  it('names a failed export by its dataset (it has no file), else by its id', () => {
    const ofDataset = eventData(failed({ version: 1, dataset: 'orders', format: 'csv', filename: 'kaputt' }));
    expect(ofDataset.dataset).toBe('orders');
    const mail = emailMessage({ event: 'export.failed', data: ofDataset }, 'https://x.example');
    expect(mail.subject).toBe('Your export of orders failed');
    expect(mail.text).toContain('Your export of orders could not be made.');
    expect(mail.text).toContain('Error: The data source failed (source_error)');
    const inline = eventData(failed({ version: 1, format: 'csv' }));
    expect(inline.dataset).toBeUndefined();
    expect(emailMessage({ event: 'export.failed', data: inline }, 'https://x.example').subject).toBe(
      `Your export ${base.id} failed`,
    );
  });

  it('names a finished export by its file', () => {
    const job: JobRecord = {
      ...base,
      request: { version: 1, dataset: 'orders', format: 'csv' },
      status: 'succeeded',
      expiresAt: new Date('2026-12-02T10:00:00Z'),
      result: {
        key: 'k',
        filename: 'orders.csv',
        contentType: 'text/csv',
        sizeBytes: 2048,
        rowCount: 10,
        sha256: 's',
      },
    };
    const mail = emailMessage({ event: 'export.succeeded', data: eventData(job) }, 'https://x.example');
    expect(mail.subject).toBe('Your export orders.csv is ready');
    expect(mail.html).toContain('<a href="https://x.example/#/exports/exp_AAAAAAAAAAAAAAAAAAAAAA">');
  });
});
