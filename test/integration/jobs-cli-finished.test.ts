/**
 * `takeout jobs cancel` and `jobs delete` on finished and active exports, and how `jobs show`
 * and `jobs list --json` show a file past its retention (SQLite store of TAKEOUT_DATA_DIR).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { claimJob, failJob, succeedJob } from '../../src/jobs/lifecycle.js';
import { sqliteJobStore } from '../../src/jobs/store/sqlite.js';
import { diskStorage } from '../../src/storage/disk.js';
import { addJob, cli } from '../support/jobs-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'takeout-jobs-cli-finished-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('takeout jobs cancel, delete and finished exports', () => {
  it('cancels only what has not finished: exit 1 for a finished export, 0 for one already canceling', async () => {
    const env = { TAKEOUT_DATA_DIR: mkdtempSync(join(dir, 'cancel-')) };
    expect((await cli(['migrate'], env)).code).toBe(0);
    const store = sqliteJobStore({ path: join(env.TAKEOUT_DATA_DIR, 'jobs.db') });
    const lease = { leaseOwner: 'w', leaseMs: 60_000 };
    const failed = await addJob(store, { id: 'ann' });
    await claimJob(store, failed.id, lease);
    await failJob(store, failed.id, 'w', { code: 'source_error', message: 'down', retryable: false });
    const succeeded = await addJob(store, { id: 'ann' });
    await claimJob(store, succeeded.id, lease);
    await succeedJob(store, succeeded.id, 'w', {
      result: {
        key: 'k',
        filename: 'f.csv',
        contentType: 'text/csv',
        sizeBytes: 1,
        rowCount: 1,
        sha256: 'x',
      },
      progress: {},
      expiresAt: new Date(Date.now() + 60_000),
    });
    for (const job of [failed, succeeded]) {
      const status = (await store.get(job.id))?.status;
      expect(await cli(['jobs', 'cancel', job.id], env)).toMatchObject({
        code: 1,
        out: '',
        err: `takeout: export_finished: ${job.id} already ${status}: there is nothing to cancel\n`,
      });
      expect((await store.get(job.id))?.status).toBe(status);
    }
    // Asked twice: the second says so, and succeeds (the export ends canceled, as asked).
    const running = await addJob(store, { id: 'bob' });
    await claimJob(store, running.id, lease);
    const first = await cli(['jobs', 'cancel', running.id], env);
    expect([first.code, first.err, first.out]).toEqual([0, '', expect.stringContaining('canceling')]);
    const again = await cli(['jobs', 'cancel', running.id], env);
    expect([again.code, again.err]).toEqual([0, `takeout: ${running.id} was already canceling\n`]);
    const queued = await addJob(store, { id: 'bob' });
    expect((await cli(['jobs', 'cancel', queued.id], env)).code).toBe(0);
    const twice = await cli(['jobs', 'cancel', queued.id], env);
    expect([twice.code, twice.err]).toEqual([0, `takeout: ${queued.id} was already canceled\n`]);
    await store.close();
  });

  it('shows a file past its retention as expired, as its owner sees it, with the file key for the operator', async () => {
    const env = { TAKEOUT_DATA_DIR: mkdtempSync(join(dir, 'expired-')) };
    expect((await cli(['migrate'], env)).code).toBe(0);
    const store = sqliteJobStore({ path: join(env.TAKEOUT_DATA_DIR, 'jobs.db') });
    const job = await addJob(store, { id: 'ann' });
    await claimJob(store, job.id, { leaseOwner: 'w', leaseMs: 60_000 });
    const result = {
      key: 'generated/k.csv',
      filename: 'f.csv',
      contentType: 'text/csv',
      sizeBytes: 1,
      rowCount: 1,
      sha256: 'x',
    };
    // Its retention ended a second ago; the sweeper has not come by (the record says succeeded).
    await succeedJob(store, job.id, 'w', { result, progress: {}, expiresAt: new Date(Date.now() - 1_000) });
    expect((await store.get(job.id))?.status).toBe('succeeded');
    const shown = JSON.parse((await cli(['jobs', 'show', job.id], env)).out);
    expect(shown).toMatchObject({
      status: 'expired',
      record_status: 'succeeded',
      file_key: 'generated/k.csv',
      result: { filename: 'f.csv', content_type: 'text/csv', size_bytes: 1, row_count: 1 },
    });
    const listed = JSON.parse((await cli(['jobs', 'list', '--status', 'expired', '--json'], env)).out);
    expect(listed.exports.map((j: { id: string; status: string }) => [j.id, j.status])).toEqual([
      [job.id, 'expired'],
    ]);
    await store.close();
  });

  it("deletes a succeeded export's file now (the record stays, expired) and cancels an active one", async () => {
    const env = { TAKEOUT_DATA_DIR: mkdtempSync(join(dir, 'delete-')) };
    expect((await cli(['migrate'], env)).code).toBe(0);
    const store = sqliteJobStore({ path: join(env.TAKEOUT_DATA_DIR, 'jobs.db') });
    const files = diskStorage({ root: join(env.TAKEOUT_DATA_DIR, 'files'), secret: 's'.repeat(32) });
    const key = 'generated/2026/12/03/x/a1/f.csv';
    const expiresAt = new Date(Date.now() + 3_600_000);
    const stored = await files.put(
      key,
      (async function* () {
        yield Buffer.from('a\r\n1\r\n');
      })(),
      { contentType: 'text/csv', filename: 'f.csv', expiresAt },
    );
    const job = await addJob(store, { id: 'ann' });
    await claimJob(store, job.id, { leaseOwner: 'w', leaseMs: 60_000 });
    const result = {
      key,
      filename: 'f.csv',
      contentType: 'text/csv',
      sizeBytes: stored.size,
      rowCount: 1,
      sha256: stored.sha256,
    };
    await succeedJob(store, job.id, 'w', { result, progress: {}, expiresAt });

    // Another storage than the service's (this shell's STORAGE_URL): not found there, so
    // nothing is said deleted and nothing changes.
    const elsewhere = { ...env, STORAGE_URL: `file:${join(env.TAKEOUT_DATA_DIR, 'other')}` };
    expect(await cli(['jobs', 'delete', job.id], elsewhere)).toEqual({
      code: 1,
      out: '',
      err: `takeout: storage_error: ${job.id}'s file ${key} is not in ${join(env.TAKEOUT_DATA_DIR, 'other')}: is STORAGE_URL (or TAKEOUT_DATA_DIR) the service's? Nothing was changed\n`,
    });
    expect((await store.get(job.id))?.status).toBe('succeeded');
    expect(await files.stat(key)).toBeDefined();

    const deleted = await cli(['jobs', 'delete', job.id], env);
    expect(deleted).toMatchObject({ code: 0, err: `takeout: ${job.id}: its file is deleted\n` });
    expect(deleted.out).toMatch(new RegExp(`^${job.id}\\s+expired\\s`));
    expect(await files.stat(key)).toBeUndefined();
    const record = await store.get(job.id);
    expect(record?.status).toBe('expired');
    expect(record!.expiresAt!.getTime()).toBeLessThanOrEqual(Date.now());
    expect(await cli(['jobs', 'delete', job.id], env)).toMatchObject({
      code: 0,
      err: `takeout: ${job.id} was expired: its file is already gone\n`,
    });
    // Expired with its file still there (a delete that could not reach the storage): deleted now.
    await files.put(
      key,
      (async function* () {
        yield Buffer.from('again');
      })(),
      { contentType: 'text/csv', filename: 'f.csv', expiresAt },
    );
    expect(await cli(['jobs', 'delete', job.id], env)).toMatchObject({
      code: 0,
      err: `takeout: ${job.id} was expired: its file is deleted now\n`,
    });
    expect(await files.stat(key)).toBeUndefined();
    // Past its retention, the record not yet marked, its file gone (an S3 lifecycle rule): not
    // "another storage", but expired, and marked so.
    const lapsed = await addJob(store, { id: 'ann' });
    await claimJob(store, lapsed.id, { leaseOwner: 'w', leaseMs: 60_000 });
    const lapsedResult = { ...result, key: 'generated/2026/12/03/y/a1/gone.csv' };
    await succeedJob(store, lapsed.id, 'w', {
      result: lapsedResult,
      progress: {},
      expiresAt: new Date(Date.now() - 1000),
    });
    expect(await cli(['jobs', 'delete', lapsed.id], env)).toMatchObject({
      code: 0,
      err: `takeout: ${lapsed.id} was expired: its file is already gone\n`,
    });
    expect((await store.get(lapsed.id))?.status).toBe('expired');
    // An active one is canceled, as DELETE /v1/exports/{id} does.
    const queued = await addJob(store, { id: 'bob' });
    expect((await cli(['jobs', 'delete', queued.id], env)).out).toMatch(/\scanceled\s/);
    expect((await store.get(queued.id))?.status).toBe('canceled');
    expect(await cli(['jobs', 'delete', 'exp_nope'], env)).toMatchObject({
      code: 1,
      err: 'takeout: export_not_found: No export exp_nope\n',
    });
    await store.close();
  });
});
