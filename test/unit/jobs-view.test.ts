import { describe, expect, it } from 'vitest';
import { stagingPrefix } from '../../src/jobs/staging.js';
import type { JobRecord } from '../../src/jobs/types.js';
import { jobView } from '../../src/jobs/view.js';

describe('the owner view of a job', () => {
  it('shows status, progress, result and error, never the key, lease, principal or hash', () => {
    const job: JobRecord = {
      id: 'exp_AAAAAAAAAAAAAAAAAAAAAA',
      owner: { id: 'ann', tenant: 't' },
      principal: { id: 'ann', tenant: 't', secretish: 'x' },
      request: { version: 1, format: 'csv', dataset: 'orders' },
      inputKey: 'staging/exp_A/rows.ndjson.gz',
      status: 'succeeded',
      attempt: 2,
      progress: { rowsWritten: 10, rowsEstimated: 12, bytesWritten: 99 },
      createdAt: new Date('2026-01-01T00:00:00Z'),
      updatedAt: new Date('2026-01-01T00:00:05Z'),
      startedAt: new Date('2026-01-01T00:00:01Z'),
      finishedAt: new Date('2026-01-01T00:00:04Z'),
      expiresAt: new Date('2126-01-02T00:00:04Z'),
      result: {
        key: 'generated/x/a2/o.csv',
        filename: 'o.csv',
        contentType: 'text/csv',
        sizeBytes: 99,
        rowCount: 10,
        sha256: 'ab',
      },
      lease: { owner: 'w', expiresAt: new Date() },
      requestHash: 'h',
      idempotencyKey: 'k',
    };
    const view = jobView(job);
    expect(view).toEqual({
      id: job.id,
      status: 'succeeded',
      dataset: 'orders',
      format: 'csv',
      attempt: 2,
      created_at: '2026-01-01T00:00:00.000Z',
      started_at: '2026-01-01T00:00:01.000Z',
      finished_at: '2026-01-01T00:00:04.000Z',
      expires_at: '2126-01-02T00:00:04.000Z',
      progress: { rows_written: 10, rows_estimated: 12, bytes_written: 99 },
      result: { filename: 'o.csv', content_type: 'text/csv', size_bytes: 99, row_count: 10, sha256: 'ab' },
    });
    expect(JSON.stringify(view)).not.toMatch(/generated|staging|secretish|lease|"h"/);
  });

  it("shows an error when failed, and a queued job's last attempt's; never on another state", () => {
    const error = { code: 'source_error', message: 'The data source failed', retryable: true };
    const job = (status: JobRecord['status']): JobRecord => ({
      id: 'exp_AAAAAAAAAAAAAAAAAAAAAA',
      owner: { id: 'ann' },
      principal: { id: 'ann' },
      request: { version: 1, format: 'csv', dataset: 'orders' },
      status,
      attempt: 2,
      progress: { rowsWritten: 0, bytesWritten: 0 },
      createdAt: new Date('2026-01-01T00:00:00Z'),
      updatedAt: new Date('2026-01-01T00:00:05Z'),
      requestHash: 'h',
      error, // the record keeps the last attempt's after a retry
    });
    const shown = (['queued', 'running', 'failed', 'canceled', 'canceling', 'succeeded'] as const).map(
      (status) => [status, jobView(job(status)).error?.code],
    );
    expect(shown).toEqual([
      ['queued', 'source_error'],
      ['running', undefined],
      ['failed', 'source_error'],
      ['canceled', undefined],
      ['canceling', undefined],
      ['succeeded', undefined],
    ]);
  });

  it('names the dataset only for a dataset export; the format always', () => {
    const job = (request: Record<string, unknown>): JobRecord => ({
      id: 'exp_AAAAAAAAAAAAAAAAAAAAAA',
      owner: { id: 'ann' },
      principal: { id: 'ann' },
      request,
      status: 'queued',
      attempt: 0,
      progress: { rowsWritten: 0, bytesWritten: 0 },
      createdAt: new Date('2026-01-01T00:00:00Z'),
      updatedAt: new Date('2026-01-01T00:00:00Z'),
      requestHash: 'h',
    });
    const inline = jobView(job({ version: 1, format: 'xlsx', columns: [{ key: 'a' }] }));
    expect(inline.format).toBe('xlsx');
    expect('dataset' in inline).toBe(false);
    expect(jobView(job({ version: 1, format: 'ndjson', dataset: 'shop' }))).toMatchObject({
      dataset: 'shop',
      format: 'ndjson',
    });
  });
});

describe('the staging prefix', () => {
  it('is beside the exports prefix, never inside it, and its own for each prefix', () => {
    expect(stagingPrefix('generated/')).toBe('staging/generated/');
    expect(stagingPrefix('tenant-7/out/')).toBe('tenant-7/staging/out/');
    expect(stagingPrefix('staging/')).toBe('takeout-staging/staging/');
    expect(stagingPrefix('a/staging/')).toBe('a/takeout-staging/staging/');
    // Deployments sharing a bucket never share a staging folder (their sweepers would remove
    // each other's staged rows), nor does one stage inside another's exports.
    const prefixes = ['generated/', 'tenant-b/', 'tenant-c/', 'a/exports/', 'b/exports/', 'a/b/'];
    const staging = prefixes.map(stagingPrefix);
    expect(new Set(staging).size).toBe(prefixes.length);
    for (const stage of staging) {
      for (const other of prefixes) expect(stage.startsWith(other), `${stage} in ${other}`).toBe(false);
      for (const other of staging) if (other !== stage) expect(stage.startsWith(other)).toBe(false);
    }
  });

  it('shows a succeeded export whose retention is over as expired, before the sweeper marks it', () => {
    const job = {
      id: 'exp_old',
      owner: { id: 'alice', tenant: 'acme' },
      principal: { id: 'alice', tenant: 'acme' },
      request: {},
      requestHash: 'h',
      status: 'succeeded',
      attempt: 1,
      createdAt: new Date('2026-01-01T00:00:00Z'),
      updatedAt: new Date('2026-01-01T00:00:04Z'),
      expiresAt: new Date(Date.now() - 1000),
      progress: { rowsWritten: 1, bytesWritten: 1 },
    } as unknown as JobRecord;
    expect(jobView(job).status).toBe('expired');
    expect(jobView({ ...job, expiresAt: new Date(Date.now() + 60_000) }).status).toBe('succeeded');
  });
});
