/**
 * The export page in headless Chromium against a real server on loopback (development mode:
 * no sign-in): small exports download at once, large ones show their progress and download
 * afterwards, cancel, "My exports" and field errors. Files are checked with csv-parse, not
 * with anything of the page's. The events stream, links to one export and accessibility have
 * files of their own (export-page-*.test.ts).
 */
import { readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { parse } from 'csv-parse/sync';
import type { Browser, BrowserContextOptions, Download } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openExportPage } from '../support/browser.js';
import { BIG_ROWS, orders, type PageServer } from '../support/page-server.js';
import { startPageSuite, stopPageSuite } from '../support/page-suite.js';

// Browser-side code as text: the tests are compiled without the DOM's types.
const SAMPLE_PROGRESS = `(() => {
  const bar = document.getElementById('job-progress');
  return {
    value: bar.hasAttribute('value') ? bar.value : null,
    numbers: document.getElementById('job-numbers').textContent,
    height: document.getElementById('job').getBoundingClientRect().height,
    historyTop: document.getElementById('history').getBoundingClientRect().top + scrollY,
  };
})()`;
/** Layout shifts (the browser's own measure, as in CLS) not caused by input, with what moved. */
const WATCH_SHIFTS = `window.shifts = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (entry.hadRecentInput || entry.value === 0) continue;
    window.shifts.push({ value: entry.value, moved: entry.sources.map((s) => s.node && (s.node.id || s.node.nodeName)) });
  }
}).observe({ type: 'layout-shift' });`;

let browser: Browser;
let server: PageServer;

beforeAll(async () => {
  ({ browser, server } = await startPageSuite());
});
afterAll(() => stopPageSuite(browser, server));

const open = (options: BrowserContextOptions = {}) => openExportPage(browser, server.base, options);

function csvOf(download: Download): Promise<Record<string, string>[]> {
  return download.path().then((path) => parse(readFileSync(path), { columns: true, bom: true }));
}

/** GET with a Host header of our choosing (fetch does not let one set it). */
function statusWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
}

describe('the export page (development mode)', () => {
  it('serves the page with a strict CSP and only to loopback Host names', async () => {
    const page = await fetch(`${server.base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const script = await fetch(`${server.base}/page/main.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const etag = script.headers.get('etag')!;
    const again = await fetch(`${server.base}/page/main.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect((await fetch(`${server.base}/page/nothing.js`)).status).toBe(404);
    expect((await fetch(`${server.base}/page/..%2Fpackage.json`)).status).toBe(404);
    // DNS rebinding: the page, like the API, answers only loopback Host names without authentication.
    expect(await statusWithHost(`${server.base}/`, 'evil.test')).toBe(403);
  });

  it('downloads a small export at once with the chosen filters, columns, order, zone and name', async () => {
    const { page, errors, close } = await open();
    expect(await page.locator('#timezone').inputValue()).toBe('Europe/Berlin');
    // The form comes from the dataset's parameters: an enum as a select, a date input, a
    // number input, a required mark.
    expect(await page.getByLabel('Country', { exact: true }).evaluate((e) => e.tagName)).toBe('SELECT');
    expect(await page.getByLabel('Since', { exact: true }).getAttribute('type')).toBe('date');
    expect(await page.getByLabel('Min amount', { exact: true }).getAttribute('type')).toBe('number');
    expect(await page.getByLabel(/^Currency/).getAttribute('required')).not.toBeNull();
    await page.getByLabel('Country', { exact: true }).selectOption('DE');
    await page.getByLabel('Since', { exact: true }).fill('2024-03-01');
    await page.getByRole('checkbox', { name: /^Customer/ }).uncheck();
    await page.getByRole('button', { name: 'Move Amount up' }).click();
    await page.getByLabel('File name').fill('german-orders');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export', exact: true }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('german-orders.csv');
    const rows = await csvOf(download);
    const expected = orders().filter((o) => o.country === 'DE' && o.order_date >= '2024-03-01');
    expect(expected.length).toBeGreaterThan(5);
    expect(rows.length).toBe(expected.length);
    expect(Object.keys(rows[0]!)).toEqual(['ID', 'Amount', 'Country', 'Order date', 'Shipped at']);
    expect(rows.map((r) => Number(r.ID))).toEqual(expected.map((o) => o.id));
    expect(rows.every((r) => r.Country === 'DE')).toBe(true);
    // 12:00 UTC in March is 13:00 in Berlin: the browser's zone went along.
    expect(rows[0]!['Shipped at']).toMatch(/13:00/);
    await expect
      .poll(() => page.locator('#export-state').textContent())
      .toMatch(/Downloaded german-orders\.csv/);
    expect(errors).toEqual([]);
    await close();
  });

  it('shows a large export moving, lists it live, then downloads a valid file', async () => {
    const { page, errors, close } = await open();
    await page.getByLabel('Dataset').selectOption('big');
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    await page.locator('#job').waitFor({ state: 'visible' });
    await page.locator('#job-progress[value]').waitFor();
    await page.evaluate(WATCH_SHIFTS);
    const seen: { value: number | null; numbers: string; height: number; historyTop: number }[] = [];
    const download = page.getByRole('button', { name: 'Download', exact: true });
    let listedRunning = false;
    const deadline = Date.now() + 30_000;
    while (!(await download.isVisible()) && Date.now() < deadline) {
      seen.push(
        (await page.evaluate(SAMPLE_PROGRESS)) as {
          value: number | null;
          numbers: string;
          height: number;
          historyTop: number;
        },
      );
      listedRunning ||= /Running/.test((await page.locator('#history-rows').textContent()) ?? '');
      await page.waitForTimeout(150);
    }
    const values = seen.map((s) => s.value).filter((v): v is number => v !== null && v > 0 && v < 1);
    expect(new Set(values).size).toBeGreaterThanOrEqual(2); // the bar moved
    expect(values).toEqual([...values].sort((a, b) => a - b));
    const numbers = seen.map((s) => s.numbers).join('\n');
    expect(numbers).toMatch(/of 30,000 rows written/);
    expect(numbers).toMatch(/rows\/s · about .* left/);
    expect(listedRunning).toBe(true);
    // No layout shift while the numbers change: the panel and what follows it stay put.
    const running = seen.filter((s) => s.value !== null && s.value > 0);
    expect(new Set(running.map((s) => s.height)).size, JSON.stringify(running)).toBe(1);
    expect(new Set(running.map((s) => s.historyTop)).size, JSON.stringify(running)).toBe(1);
    // Nothing a reader sees moves: the layout-shift score stays far below what Chrome counts as
    // a shift worth noting (0.1 is its "good" line). Text within one line may move by a pixel
    // when a number in front of it gets wider on a busy machine (seen: 0.0001): not a jump.
    const shifts = (await page.evaluate('window.shifts')) as { value: number }[];
    const score = shifts.reduce((sum, shift) => sum + shift.value, 0);
    expect(score, JSON.stringify(shifts)).toBeLessThan(0.001);

    expect(await page.locator('#job-title').textContent()).toBe('Your file is ready');
    const [file] = await Promise.all([page.waitForEvent('download'), download.click()]);
    const rows = await csvOf(file);
    expect(rows.length).toBe(BIG_ROWS);
    expect(rows[0]).toEqual({ id: '0', label: 'row 0' });
    expect(rows.at(-1)).toEqual({ id: String(BIG_ROWS - 1), label: `row ${BIG_ROWS - 1}` });
    await expect.poll(() => page.locator('#history-rows tr').first().textContent()).toMatch(/Ready.*CSV/);
    expect(errors).toEqual([]);
    await close();
  });

  it('cancels a running export', async () => {
    const { page, errors, close } = await open();
    await page.getByLabel('Dataset').selectOption('big');
    await page.getByLabel('N', { exact: true }).fill('1000000');
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/v1/exports') && r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Export', exact: true }).click(),
    ]);
    const { id } = (await answer.json()) as { id: string };
    await expect.poll(() => page.locator('#job-numbers').textContent()).toMatch(/rows written/);
    await page.getByRole('button', { name: 'Cancel export', exact: true }).click();
    await expect
      .poll(() => page.locator('#job-title').textContent(), { timeout: 15_000 })
      .toBe('Export canceled');
    expect(await server.jobStatus(id)).toBe('canceled');
    await expect
      .poll(() => page.locator(`#history-rows tr[data-id="${id}"]`).textContent())
      .toMatch(/Canceled/);
    expect(errors).toEqual([]);
    await close();
  });

  it('prepares a small export in the background when asked to (Prefer: respond-async)', async () => {
    const { page, errors, close } = await open();
    await page.getByLabel('Country', { exact: true }).selectOption('US');
    await page.getByLabel('Format').selectOption('tsv');
    await page.getByLabel('Prepare in the background').check();
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/v1/exports') && r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Export', exact: true }).click(),
    ]);
    expect(answer.status()).toBe(202);
    const button = page.getByRole('button', { name: 'Download', exact: true });
    await button.waitFor({ state: 'visible', timeout: 20_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
    // No name asked for: the server's default, of the shape the empty field showed.
    expect(download.suggestedFilename()).toMatch(/^orders-\d{8}-\d{6}\.tsv$/);
    expect(await page.getByLabel('File name').getAttribute('placeholder')).toMatch(/^orders-\d{8}-\d{6}$/);
    const rows = parse(readFileSync(await download.path()), { columns: true, delimiter: '\t' }) as Record<
      string,
      string
    >[];
    expect(rows.map((r) => Number(r.ID))).toEqual(
      orders()
        .filter((o) => o.country === 'US')
        .map((o) => o.id),
    );
    expect(errors).toEqual([]);
    await close();
  });

  it('lists my exports with Download and Delete', async () => {
    // Exports of its own, whatever ran before: one finished, one canceled.
    const done = await server.createJob({ dataset: 'orders', format: 'csv', params: { currency: 'EUR' } });
    const canceled = await server.createJob({ dataset: 'big', format: 'csv' });
    await fetch(`${server.base}/v1/exports/${canceled}/cancel`, { method: 'POST' });
    await expect.poll(() => server.jobStatus(done), { timeout: 20_000 }).toBe('succeeded');
    await expect.poll(() => server.jobStatus(canceled), { timeout: 20_000 }).toBe('canceled');
    const { page, errors, close } = await open();
    const rows = page.locator('#history-rows tr');
    await expect.poll(() => rows.count()).toBeGreaterThanOrEqual(2);
    const text = (await page.locator('#history-rows').textContent()) ?? '';
    expect(text).toMatch(/Ready/);
    expect(text).toMatch(/Canceled/);
    const ready = rows.filter({ hasText: 'Ready' }).first();
    const id = await ready.getAttribute('data-id');
    const [file] = await Promise.all([
      page.waitForEvent('download'),
      ready.getByRole('button', { name: /^Download/ }).click(),
    ]);
    expect((await csvOf(file)).length).toBeGreaterThan(0);
    // Delete asks first: saying no keeps the file, and sends nothing.
    const deletes: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'DELETE') deletes.push(request.url());
    });
    const asked: string[] = [];
    page.once('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.dismiss();
    });
    await ready.getByRole('button', { name: /^Delete/ }).click();
    await expect.poll(() => asked.length).toBe(1);
    expect(asked[0]).toMatch(/^Delete orders.*\.csv\? It cannot be recovered/);
    expect(await server.jobStatus(id!)).toBe('succeeded');
    expect(await ready.getByRole('button', { name: /^Download/ }).count()).toBe(1);
    expect(deletes).toEqual([]);
    // Yes removes the file: the export stays listed as expired, with nothing to download.
    page.once('dialog', (dialog) => void dialog.accept());
    await ready.getByRole('button', { name: /^Delete/ }).click();
    const row = page.locator(`#history-rows tr[data-id="${id}"]`);
    await expect.poll(() => row.textContent()).toMatch(/Expired/);
    expect(deletes).toEqual([`${server.base}/v1/exports/${id}`]);
    expect(await row.getByRole('button').count()).toBe(0);
    // Its file is gone, and so is its size.
    expect(await row.locator('td[data-label="Size"]').textContent()).toBe('—');
    expect(await server.jobStatus(id!)).toBe('expired');
    expect(errors).toEqual([]);
    await close();
  });

  it("shows the API's invalid_params message beside the field, and names the field by its label in the alert", async () => {
    const { page, errors, close } = await open();
    const field = page.getByLabel('Min amount', { exact: true });
    await field.fill('-5');
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    const error = page.locator('.field-error:visible');
    await expect.poll(() => error.textContent()).toBe('Min amount must be at least 0');
    expect(await field.getAttribute('aria-invalid')).toBe('true');
    expect(await page.evaluate('document.activeElement?.getAttribute("name")')).toBe('min_amount');
    expect(await field.getAttribute('aria-describedby')).toContain(await error.getAttribute('id'));
    const alert = page.getByRole('alert');
    expect(await alert.textContent()).toMatch(/Some filters are not valid.*Code for support: invalid_params/);
    // The alert names the parameter as its field's label does, not as the request does.
    expect(await alert.textContent()).toContain('Min amount must be at least 0');
    expect(await alert.textContent()).not.toContain('min_amount');
    // The browser logs the 400 answer itself; nothing else may be logged.
    expect(errors.filter((e) => !/status of 400/.test(e))).toEqual([]);
    await close();
  });
});
