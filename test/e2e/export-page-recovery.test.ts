/**
 * The export page when things go wrong around it, in headless Chromium against a real server
 * on loopback (development mode): the server out of reach mid-export, a filter the browser
 * cannot read, a file deleted while shown, more exports than one page of the list, and
 * the keyboard focus after each action.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openExportPage } from '../support/browser.js';
import type { PageServer } from '../support/page-server.js';
import { startPageSuite, stopPageSuite } from '../support/page-suite.js';

let browser: Browser;
let server: PageServer;

beforeAll(async () => {
  ({ browser, server } = await startPageSuite());
});
afterAll(() => stopPageSuite(browser, server));

const open = () => openExportPage(browser, server.base);

const activeId = (page: Page) => page.evaluate('document.activeElement?.id ?? null');

describe('the export page when things go wrong', () => {
  it('keeps following an export through a server it cannot reach, and says so meanwhile', async () => {
    const { page, close } = await open();
    // Polling only (the stream of a server that goes away ends with it), and the API out of
    // reach once the export runs.
    await page.route('**/events', (route) => route.fulfill({ status: 502, body: 'bad gateway' }));
    let down = false;
    await page.route('**/v1/exports**', (route) =>
      down ? route.abort('connectionrefused') : route.fallback(),
    );
    await page.getByLabel('Dataset').selectOption('big');
    await page.getByLabel('N', { exact: true }).fill('12000');
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    await expect.poll(() => page.locator('#job-numbers').textContent()).toMatch(/rows written/);
    down = true;
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent(), { timeout: 15_000 }).toMatch(/cannot be reached/);
    await page.waitForTimeout(3000);
    down = false;
    await expect
      .poll(() => page.locator('#job-title').textContent(), { timeout: 30_000 })
      .toBe('Your file is ready');
    expect(await page.locator('#job-numbers').textContent()).toMatch(/12,000 rows/);
    // The problem went away with the outage, and the list caught up.
    await expect.poll(() => alert.isHidden()).toBe(true);
    await expect
      .poll(() => page.locator('#history-rows').textContent(), { timeout: 15_000 })
      .not.toMatch(/Running/);
    await close();
  });

  it('refuses a number the browser cannot read instead of leaving the filter out', async () => {
    const { page, errors, close } = await open();
    let posted = 0;
    page.on('request', (request) => {
      if (request.method() === 'POST' && request.url().endsWith('/v1/exports')) posted++;
    });
    const field = page.getByLabel('Min amount', { exact: true });
    await field.pressSequentially('12e');
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    const error = page.locator('.field-error:visible');
    await expect.poll(() => error.textContent()).toBe('Enter a number, or leave the field empty.');
    expect(await field.getAttribute('aria-invalid')).toBe('true');
    expect(await page.evaluate('document.activeElement?.getAttribute("name")')).toBe('min_amount');
    expect(posted).toBe(0);
    // Corrected, the export goes out with the filter.
    await field.fill('400');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export', exact: true }).click(),
    ]);
    const rows = parse(readFileSync(await download.path()), { columns: true, bom: true }) as Record<
      string,
      string
    >[];
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => Number(r.Amount) >= 400)).toBe(true);
    expect(posted).toBe(1);
    expect(errors).toEqual([]);
    await close();
  });

  it('shows a file deleted while it was on screen as expired when Download finds it gone', async () => {
    const { page, errors, close } = await open();
    await page.getByLabel('Prepare in the background').check();
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/v1/exports') && r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Export', exact: true }).click(),
    ]);
    const { id } = (await answer.json()) as { id: string };
    const download = page.locator('#job-download');
    await download.waitFor({ state: 'visible', timeout: 20_000 });
    // Deleted elsewhere (another tab, the retention ending).
    expect((await fetch(`${server.base}/v1/exports/${id}`, { method: 'DELETE' })).status).toBe(200);
    // By the keyboard: the button goes while it has the focus.
    await download.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/export_expired/);
    await expect.poll(() => page.locator('#job-title').textContent()).toBe('The file has expired');
    expect(await download.isHidden()).toBe(true);
    // The focus moves on to the panel's title rather than falling to the page's body.
    expect(await activeId(page)).toBe('job-title');
    await expect
      .poll(() => page.locator(`#history-rows tr[data-id="${id}"]`).textContent())
      .toMatch(/Expired/);
    expect(errors.filter((e) => !/status of 410/.test(e))).toEqual([]);
    await close();
  });

  it('shows more than the newest twenty exports, a page at a time', async () => {
    // One at a time: an owner may have only so many active exports.
    for (let i = 0; i < 23; i++) {
      const id = await server.createJob({ dataset: 'big', format: 'csv', params: { n: 5 } });
      await expect.poll(() => server.jobStatus(id), { timeout: 20_000 }).toBe('succeeded');
    }
    const all = (
      (await (await fetch(`${server.base}/v1/exports?limit=100`)).json()) as { exports: unknown[] }
    ).exports.length;
    expect(all).toBeGreaterThanOrEqual(23);
    const { page, errors, close } = await open();
    const rows = page.locator('#history-rows tr');
    await expect.poll(() => rows.count()).toBe(20);
    const more = page.getByRole('button', { name: 'Show more' });
    await more.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => rows.count()).toBe(Math.min(all, 40));
    expect(await more.isVisible()).toBe(all > 40);
    // The last page in, the button goes: its focus moves to the first export it brought.
    if (all <= 40) {
      await expect
        .poll(() => page.evaluate(`document.activeElement?.closest('tr')?.rowIndex ?? null`))
        .toBe(21); // the header row is 0
    }
    expect(errors).toEqual([]);
    await close();
  });

  it('keeps the keyboard focus on the button pressed, or on what follows when it goes', async () => {
    const id = await server.createJob({ dataset: 'orders', format: 'csv', params: { currency: 'EUR' } });
    await expect.poll(() => server.jobStatus(id), { timeout: 20_000 }).toBe('succeeded');
    const { page, errors, close } = await open();
    // Export, by the keyboard: the focus stays on the button while the file downloads.
    await page.getByRole('button', { name: 'Export', exact: true }).focus();
    await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
    expect(await activeId(page)).toBe('export-button');
    // Delete in the list: the row stays (expired) without buttons, so the focus goes to Refresh.
    const remove = page.locator(`#history-rows button[data-id="${id}"][data-action="delete"]`);
    await remove.focus();
    page.once('dialog', (dialog) => void dialog.accept());
    await page.keyboard.press('Enter');
    await expect
      .poll(() => page.locator(`#history-rows tr[data-id="${id}"]`).textContent())
      .toMatch(/Expired/);
    await expect.poll(() => activeId(page)).toBe('history-refresh');
    // Cancel in the panel: the button goes with the running export; the panel's title has the focus.
    await page.getByLabel('Dataset').selectOption('big');
    await page.getByLabel('N', { exact: true }).fill('200000');
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    await expect.poll(() => page.locator('#job-numbers').textContent()).toMatch(/rows written/);
    await page.locator('#job-cancel').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => activeId(page)).toBe('job-title');
    expect(errors).toEqual([]);
    await close();
  });
});
