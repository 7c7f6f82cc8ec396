/**
 * The export page through a server that says "not now" or says nothing, in headless Chromium
 * against a real server on loopback (development mode): 429s and 500s while it follows an
 * export, datasets slow to come, a server down when the page opens, one that hangs, a reload
 * mid-export, an export started in another tab; and what a screen reader hears about a problem
 * in the form or a moved column.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleErrors, openExportPage } from '../support/browser.js';
import type { PageServer } from '../support/page-server.js';
import { startPageSuite, stopPageSuite } from '../support/page-suite.js';

let browser: Browser;
let server: PageServer;

beforeAll(async () => {
  ({ browser, server } = await startPageSuite());
});
afterAll(() => stopPageSuite(browser, server));

const open = () => openExportPage(browser, server.base);

/** Starts a background export of `big` with `n` rows from the form; its id. */
async function startBig(page: Page, n: number, filename?: string): Promise<string> {
  await page.getByLabel('Dataset').selectOption('big');
  await page.getByLabel('N', { exact: true }).fill(String(n));
  if (filename) await page.getByLabel('File name').fill(filename);
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/v1/exports') && r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Export', exact: true }).click(),
  ]);
  return ((await answer.json()) as { id: string }).id;
}

/** Counts every change to the alert's content from now on (each one is read out again). */
const COUNT_ALERT_CHANGES = `(() => {
  window.alertChanges = 0;
  new MutationObserver(() => window.alertChanges++).observe(document.getElementById('alert'), {
    childList: true, subtree: true, characterData: true,
  });
})()`;

/** The tab hidden (another one in front), then shown again, as the browser reports it. */
const SHOW_TAB_AGAIN = `(() => {
  let state = 'hidden';
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
  document.dispatchEvent(new Event('visibilitychange'));
  state = 'visible';
  document.dispatchEvent(new Event('visibilitychange'));
})()`;

describe('the export page through a server that says "not now" or nothing', () => {
  it('keeps following an export and its list through 429s, as late as Retry-After asks, then clears the alert', async () => {
    const { page, errors, close } = await open();
    await page.route('**/events', (route) => route.fulfill({ status: 502, body: 'bad gateway' }));
    let limited = false;
    let refused = 0;
    await page.route(/\/v1\/exports(\/exp_[^/]+|\?.*)$/, (route) => {
      if (!limited || route.request().method() !== 'GET') return route.fallback();
      refused++;
      return route.fulfill({
        status: 429,
        headers: { 'content-type': 'application/problem+json', 'retry-after': '1' },
        body: JSON.stringify({ status: 429, code: 'rate_limited', title: 'Too many requests' }),
      });
    });
    await startBig(page, 8000);
    await expect.poll(() => page.locator('#job-numbers').textContent()).toMatch(/rows written/);
    limited = true;
    const alert = page.getByRole('alert');
    await expect
      .poll(() => alert.textContent(), { timeout: 15_000 })
      .toMatch(/too many requests.*rate_limited/i);
    await page.evaluate(COUNT_ALERT_CHANGES);
    await page.waitForTimeout(4000);
    // Retried (the watch and the list), the same alert each time: not rebuilt, not read out again.
    expect(refused).toBeGreaterThanOrEqual(3);
    expect(await page.evaluate('window.alertChanges')).toBe(0);
    limited = false;
    await expect
      .poll(() => page.locator('#job-title').textContent(), { timeout: 30_000 })
      .toBe('Your file is ready');
    await expect.poll(() => alert.isHidden()).toBe(true);
    await expect
      .poll(() => page.locator('#history-rows').textContent(), { timeout: 15_000 })
      .not.toMatch(/Running/);
    expect(errors.filter((e) => !/status of (429|502)/.test(e))).toEqual([]);
    await close();
  });

  it('keeps following an export through server errors (500), and shows it ready once the server answers', async () => {
    const { page, errors, close } = await open();
    await page.route('**/events', (route) => route.fulfill({ status: 502, body: 'bad gateway' }));
    let failed = 0;
    await page.route(/\/v1\/exports\/exp_[^/]+$/, (route) => {
      if (route.request().method() !== 'GET' || failed >= 2) return route.fallback();
      failed++;
      return route.fulfill({
        status: 500,
        headers: { 'content-type': 'application/problem+json' },
        body: JSON.stringify({ status: 500, code: 'internal', title: 'Internal error', retryable: true }),
      });
    });
    await startBig(page, 3000);
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent()).toMatch(/went wrong on the server.*internal/);
    await expect
      .poll(() => page.locator('#job-title').textContent(), { timeout: 30_000 })
      .toBe('Your file is ready');
    expect(failed).toBe(2);
    expect(await page.locator('#job-download').isVisible()).toBe(true);
    // The server answers again: the problem it had is no longer shown.
    await expect.poll(() => alert.isHidden()).toBe(true);
    expect(errors.filter((e) => !/status of (500|502)/.test(e))).toEqual([]);
    await close();
  });

  it('does not wait out a server error it is told will not pass (retryable: false)', async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    let asked = 0;
    await page.route('**/v1/datasets', (route) => {
      asked++;
      return route.fulfill({
        status: 500,
        headers: { 'content-type': 'application/problem+json' },
        body: JSON.stringify({
          status: 500,
          code: 'config_error',
          title: 'The configuration is not valid',
          retryable: false,
        }),
      });
    });
    await page.goto(`${server.base}/`);
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent()).toMatch(/config_error/);
    // Not "Loading datasets…" for ever, and not asked again every few seconds.
    await page.waitForTimeout(6000);
    expect(asked).toBe(1);
    expect(await page.getByRole('status').textContent()).toBe('');
    await context.close();
  });

  it('says it is loading the datasets while they are slow to come', async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    const errors = consoleErrors(page);
    await page.route('**/v1/datasets', async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await route.fallback();
    });
    await page.goto(`${server.base}/`);
    // A polite live region (role=status), visible too.
    const status = page.getByRole('status');
    await expect.poll(() => status.textContent()).toBe('Loading datasets…');
    expect(await status.isVisible()).toBe(true);
    expect(await page.locator('#export').isHidden()).toBe(true);
    await page.locator('#export').waitFor({ state: 'visible' });
    // Gone once they are there.
    expect(await status.textContent()).toBe('');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('comes up by itself when the server could not answer as the page opened', async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    let down = true;
    await page.route('**/v1/datasets', (route) =>
      down ? route.fulfill({ status: 503, headers: { 'retry-after': '1' }, body: '' }) : route.fallback(),
    );
    await page.goto(`${server.base}/`);
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent()).toMatch(/busy|try again/i);
    expect(await page.locator('#export').isHidden()).toBe(true);
    down = false;
    // No reload: the page asks again.
    await page.locator('#export').waitFor({ state: 'visible', timeout: 15_000 });
    expect(await alert.isHidden()).toBe(true);
    await context.close();
  });

  it('says the server cannot be reached when it stops answering, instead of waiting forever', async () => {
    const { page, errors, close } = await open();
    await page.route('**/events', (route) => route.fulfill({ status: 502, body: 'bad gateway' }));
    let hang = false;
    await page.route(/\/v1\/exports\/exp_[^/]+$/, async (route) => {
      if (!hang) return route.fallback();
      await new Promise(() => {}); // a server that took the request and went silent
    });
    await startBig(page, 30_000);
    await expect.poll(() => page.locator('#job-numbers').textContent()).toMatch(/rows written/);
    hang = true;
    await expect
      .poll(() => page.getByRole('alert').textContent(), { timeout: 40_000 })
      .toMatch(/cannot be reached/);
    expect(errors.filter((e) => !/status of 502/.test(e))).toEqual([]);
    await close();
  }, 60_000);

  it('shows the export it follows again after a reload, and names unfinished exports by what was asked', async () => {
    const { page, errors, close } = await open();
    const id = await startBig(page, 30_000);
    await expect.poll(() => page.evaluate('location.hash')).toBe(`#/exports/${id}`);
    const row = page.locator(`#history-rows tr[data-id="${id}"]`);
    await expect.poll(() => row.textContent()).toMatch(/Export of big \(CSV\), .*(Queued|Running)/);
    await page.reload();
    await page.locator('#job').waitFor({ state: 'visible' });
    await expect
      .poll(() => page.locator('#job-title').textContent(), { timeout: 30_000 })
      .toBe('Your file is ready');
    expect(await page.locator('#job-numbers').textContent()).toMatch(/30,000 rows/);
    expect(errors).toEqual([]);
    await close();
  });

  it('lists an export started in another tab as soon as this tab is shown again', async () => {
    const tabA = await open();
    const tabB = await open();
    // Nothing of B's list is active: no two-second refresh would bring the new export in.
    await expect
      .poll(() => tabB.page.locator('#history-rows').textContent(), { timeout: 60_000 })
      .not.toMatch(/Queued|Running|Canceling/);
    const id = await startBig(tabA.page, 30_000);
    const row = tabB.page.locator(`#history-rows tr[data-id="${id}"]`);
    await tabB.page.waitForTimeout(2500);
    expect(await row.count()).toBe(0);
    await tabB.page.evaluate(SHOW_TAB_AGAIN);
    await row.waitFor({ timeout: 5000 });
    expect([...tabA.errors, ...tabB.errors]).toEqual([]);
    await tabA.close();
    await tabB.close();
  });

  it('wraps a long file name in the panel on a 375 px phone', async () => {
    const { page, errors, close } = await openExportPage(browser, server.base, {
      viewport: { width: 375, height: 800 },
    });
    const long = `Quarterly_export_of_all_orders_${'x'.repeat(90)}_final_v2`;
    await startBig(page, 2000, long);
    await expect.poll(() => page.locator('#job-numbers').textContent(), { timeout: 20_000 }).toContain(long);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    expect(errors).toEqual([]);
    await close();
  });
});

describe('what a screen reader hears about the form', () => {
  it('announces a field to correct, with its name, even when the focus is already on it', async () => {
    const { page, close } = await open();
    const field = page.getByLabel('Min amount', { exact: true });
    await field.pressSequentially('12e');
    await field.press('Enter');
    await expect
      .poll(() => page.locator('#export-state').textContent())
      .toBe('Min amount: Enter a number, or leave the field empty.');
    expect(await page.locator('#export-state').getAttribute('aria-live')).toBe('polite');
    await close();
  });

  it('says where a moved column went', async () => {
    const { page, close } = await open();
    await page.getByRole('button', { name: 'Move Country up' }).click();
    await expect
      .poll(() => page.locator('#columns-announce').textContent())
      .toBe('Country is now column 2 of 6.');
    await close();
  });

  it('shows the focus on a date field whichever of its parts has it', async () => {
    const { page, close } = await open();
    const since = page.getByLabel('Since', { exact: true });
    await since.focus();
    for (let i = 0; i < 3; i++) await page.keyboard.press('Tab'); // month, day, year, calendar button
    expect(await page.evaluate('document.activeElement?.name')).toBe('since');
    expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');
    await close();
  });
});
