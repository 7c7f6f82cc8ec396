/**
 * "My exports" refreshing itself while an export runs, in headless Chromium (the list is the
 * page's route fixture): rows are updated in place, so the button with the keyboard focus stays
 * the same element (a screen reader does not hear it again) while the cells that changed change;
 * and what Delete, Cancel and "Show more" did is said in a polite live region.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openExportPage } from '../support/browser.js';
import { exportLinks, readyExport } from '../support/page-fixtures.js';
import type { PageServer } from '../support/page-server.js';
import { startPageSuite, stopPageSuite } from '../support/page-suite.js';

let browser: Browser;
let server: PageServer;

beforeAll(async () => {
  ({ browser, server } = await startPageSuite());
});
afterAll(() => stopPageSuite(browser, server));

const READY = readyExport('exp_readyBBBBBBBBBBBBBBBBB');

/** A running export that writes 1,000 more rows at each look, and is done at the fifth. */
function running(look: number) {
  const done = look >= 5;
  return {
    id: 'exp_runningBBBBBBBBBBBBBBB',
    status: done ? 'succeeded' : 'running',
    dataset: 'big',
    format: 'csv',
    created_at: '2024-05-02T11:00:00Z',
    ...(done ? { finished_at: '2024-05-02T11:01:00Z', expires_at: '2099-01-01T00:00:00Z' } : {}),
    progress: { rows_written: Math.min(look, 5) * 1000, rows_estimated: 5000, bytes_written: look * 9000 },
    ...(done
      ? { result: { filename: 'big.csv', content_type: 'text/csv', size_bytes: 45_000, row_count: 5000 } }
      : {}),
    links: exportLinks('exp_runningBBBBBBBBBBBBBBB'),
  };
}

/** Counts the looks at the list: each answers the running export one step further. */
async function listFixture(page: Page): Promise<() => number> {
  let looks = 0;
  await page.route(/\/v1\/exports\?/, (route) => {
    looks++;
    return route.fulfill({ json: { exports: [running(looks), READY] } });
  });
  return () => looks;
}

describe('"My exports" while an export runs', () => {
  it('updates rows in place: the focused button stays the same element, the changed cells change', async () => {
    const { page, errors, close } = await openExportPage(browser, server.base);
    const looks = await listFixture(page);
    await page.getByRole('button', { name: 'Refresh' }).click();
    const runningRow = page.locator('#history-rows tr[data-id="exp_runningBBBBBBBBBBBBBBB"]');
    await expect.poll(() => runningRow.locator('td[data-label="Rows"]').textContent()).toMatch(/^\d,000$/);
    await page
      .locator('#history-rows button[data-action="download"][data-id="exp_readyBBBBBBBBBBBBBBBBB"]')
      .focus();
    await page.evaluate(`{
      window.kept = { button: document.activeElement, row: document.querySelector('tr[data-id="exp_runningBBBBBBBBBBBBBBB"]'),
        cancel: document.querySelector('button[data-action="cancel"]') };
      window.focusins = 0;
      document.getElementById('history-rows').addEventListener('focusin', () => window.focusins++);
    }`);
    const rowsBefore = await runningRow.locator('td[data-label="Rows"]').textContent();
    const before = looks();
    // The next refreshes (every two seconds while one is running): the row moves on, nothing else.
    await expect.poll(looks, { timeout: 8000 }).toBeGreaterThanOrEqual(before + 1);
    await expect.poll(() => runningRow.locator('td[data-label="Rows"]').textContent()).not.toBe(rowsBefore);
    expect(
      await page.evaluate(`({
        same: document.activeElement === window.kept.button,
        row: document.querySelector('tr[data-id="exp_runningBBBBBBBBBBBBBBB"]') === window.kept.row,
        cancel: document.querySelector('button[data-action="cancel"]') === window.kept.cancel,
        focusins: window.focusins,
      })`),
    ).toEqual({ same: true, row: true, cancel: true, focusins: 0 });
    // Done: its actions change (Cancel goes, Download and Delete come); the focus stays where it was.
    await expect
      .poll(() => runningRow.locator('td[data-label="Status"]').textContent(), { timeout: 8000 })
      .toBe('Ready');
    expect(await runningRow.getByRole('button').allTextContents()).toEqual(['Download', 'Delete']);
    expect(await runningRow.locator('td[data-label="Size"]').textContent()).not.toBe('—');
    expect(
      await page.evaluate('document.activeElement === window.kept.button && window.focusins === 0'),
    ).toBe(true);
    expect(errors).toEqual([]);
    await close();
  });
});

/** `n` finished exports, newest first, as the list answers them a page (`limit`) at a time. */
async function manyFixture(page: Page, n: number): Promise<void> {
  const all = Array.from({ length: n }, (_, i) => ({
    ...readyExport(`exp_many${String(i).padStart(17, 'A')}`),
    result: { filename: `orders-${i + 1}.csv`, content_type: 'text/csv', size_bytes: 2048, row_count: 60 },
  }));
  await page.route(/\/v1\/exports\?/, (route) => {
    const limit = Number(new URL(route.request().url()).searchParams.get('limit'));
    const exports = all.slice(0, limit);
    return route.fulfill({
      json: { exports, ...(limit < all.length ? { next_cursor: `after-${limit}` } : {}) },
    });
  });
}

describe('what a screen reader hears about "My exports"', () => {
  it('announces what Delete and Cancel did', async () => {
    const readyId = await server.createJob({ dataset: 'orders', format: 'csv', params: { currency: 'EUR' } });
    await expect.poll(() => server.jobStatus(readyId), { timeout: 20_000 }).toBe('succeeded');
    const { result } = (await (await fetch(`${server.base}/v1/exports/${readyId}`)).json()) as {
      result: { filename: string };
    };
    const { page, errors, close } = await openExportPage(browser, server.base);
    const announce = page.locator('#history-announce');
    expect(await announce.getAttribute('aria-live')).toBe('polite');
    const ready = page.locator(`#history-rows tr[data-id="${readyId}"]`);
    page.once('dialog', (dialog) => void dialog.accept());
    await ready.getByRole('button', { name: /^Delete/ }).click();
    await expect.poll(() => announce.textContent()).toBe(`Deleted ${result.filename}.`);
    await expect.poll(() => ready.textContent()).toMatch(/Expired/);
    // Cancel: canceled at once, or being canceled, said with the export's name.
    const runningId = await server.createJob({ dataset: 'big', format: 'csv', params: { n: 30_000 } });
    await page.getByRole('button', { name: 'Refresh' }).click();
    const running = page.locator(`#history-rows tr[data-id="${runningId}"]`);
    await running.getByRole('button', { name: /^Cancel/ }).click();
    await expect
      .poll(() => announce.textContent())
      .toMatch(/^Cancel(ed|ing) Export of big \(CSV\), .+(\.|…)$/);
    expect(errors).toEqual([]);
    await close();
  });

  it('announces how many more exports "Show more" brought', async () => {
    const { page, errors, close } = await openExportPage(browser, server.base);
    await manyFixture(page, 25);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect.poll(() => page.locator('#history-rows tr').count()).toBe(20);
    await page.getByRole('button', { name: 'Show more' }).click();
    await expect.poll(() => page.locator('#history-rows tr').count()).toBe(25);
    await expect
      .poll(() => page.locator('#history-announce').textContent())
      .toBe('5 more exports shown, 25 in all.');
    expect(errors).toEqual([]);
    await close();
  });
});
