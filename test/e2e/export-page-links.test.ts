/**
 * Links to one export (`#/exports/<id>`, as the "your export is ready" email has them), in
 * headless Chromium against a real server on loopback (development mode): the linked export is
 * shown, one that does not exist is said to be gone, and a mangled link is said to be invalid
 * without the page asking the API for anything it names.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import type { Browser, Download } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleErrors, openExportPage } from '../support/browser.js';
import { orders, type PageServer } from '../support/page-server.js';
import { startPageSuite, stopPageSuite } from '../support/page-suite.js';

let browser: Browser;
let server: PageServer;

beforeAll(async () => {
  ({ browser, server } = await startPageSuite());
});
afterAll(() => stopPageSuite(browser, server));

function csvOf(download: Download): Promise<Record<string, string>[]> {
  return download.path().then((path) => parse(readFileSync(path), { columns: true, bom: true }));
}

describe('links to one export', () => {
  it('opens the export an email links to (#/exports/<id>), and says when there is none', async () => {
    const created = await fetch(`${server.base}/v1/exports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'respond-async' },
      body: JSON.stringify({ dataset: 'orders', format: 'csv', params: { country: 'US', currency: 'USD' } }),
    });
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as { id: string };
    await expect.poll(() => server.jobStatus(id), { timeout: 20_000 }).toBe('succeeded');
    const context = await browser.newContext({ timezoneId: 'Europe/Berlin', locale: 'en-US' });
    const page = await context.newPage();
    const errors = consoleErrors(page);
    await page.goto(`${server.base}/#/exports/${id}`);
    const button = page.getByRole('button', { name: 'Download', exact: true });
    await button.waitFor({ state: 'visible', timeout: 20_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
    expect((await csvOf(download)).map((r) => Number(r.ID))).toEqual(
      orders()
        .filter((o) => o.country === 'US')
        .map((o) => o.id),
    );
    // Another id in the address: the API's 404 as a sentence with its code.
    await page.evaluate(`location.hash = '#/exports/exp_AAAAAAAAAAAAAAAAAAAAAA'`);
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toMatch(/no longer exists.*Code for support: export_not_found/);
    expect(errors.filter((e) => !/status of 404/.test(e))).toEqual([]);
    await context.close();
  });

  it('says a mangled link is not valid, and asks the API for nothing it names', async () => {
    const { page, errors, close } = await openExportPage(browser, server.base);
    const asked: string[] = [];
    page.on('request', (request) => {
      const path = new URL(request.url()).pathname;
      if (path.startsWith('/v1/') && path !== '/v1/exports' && path !== '/v1/datasets') asked.push(path);
    });
    const alert = page.getByRole('alert');
    for (const link of [
      '#/exports/%E0%A4%A', // a broken %-escape: decodeURIComponent throws
      '#/exports/..', // would be GET /v1/
      '#/exports/exp_ok%2F..%2Fcancel', // a slash once decoded
      '#/exports/not-an-id',
    ]) {
      await page.evaluate(`location.hash = ${JSON.stringify(link)}`);
      await expect
        .poll(() => alert.textContent(), { message: link })
        .toMatch(/This link to an export is not valid.*Code for support: invalid_link/);
      expect(await alert.textContent()).not.toMatch(/URI malformed|internal/);
      expect(await page.locator('#job').isHidden()).toBe(true);
      // Emptied, so that the next link's message is its own.
      await page.evaluate(`document.getElementById('alert').replaceChildren()`);
    }
    // Opened with a mangled link, too.
    const context = await browser.newContext();
    const opened = await context.newPage();
    const openedErrors = consoleErrors(opened);
    await opened.goto(`${server.base}/#/exports/%E0%A4%A`);
    await expect.poll(() => opened.getByRole('alert').textContent()).toMatch(/not valid/);
    await context.close();
    expect(asked).toEqual([]);
    expect(errors).toEqual([]);
    expect(openedErrors).toEqual([]);
    await close();
  });
});
