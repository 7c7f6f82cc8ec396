/**
 * The running export's panel in headless Chromium against a real server on loopback
 * (development mode): what it says, that it gives way at once to the next export, that a
 * finished export does not take the keyboard from someone typing elsewhere, and that a file
 * past its `expires_at` is shown as expired (the page's clock is Playwright's, so that days
 * pass at once); and a bar without a known total that neither moves for those who asked for
 * less motion nor reads "0 %" to a screen reader.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleErrors, openExportPage } from '../support/browser.js';
import { exportLinks } from '../support/page-fixtures.js';
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

/** Starts a background export of `n` rows of `big`; its id. */
async function exportBig(page: Page, n: number): Promise<string> {
  await page.getByLabel('Dataset').selectOption('big');
  await page.getByLabel('N', { exact: true }).fill(String(n));
  await page.getByLabel('Prepare in the background').check();
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/v1/exports') && r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Export', exact: true }).click(),
  ]);
  return ((await answer.json()) as { id: string }).id;
}

const ready = (page: Page) =>
  expect.poll(() => page.locator('#job-title').textContent(), { timeout: 20_000 }).toBe('Your file is ready');

describe('the export panel', () => {
  it('says "1 row", and gives way at once when the next export is asked for', async () => {
    const { page, errors, close } = await open();
    await exportBig(page, 1);
    await ready(page);
    const said = await page.locator('#job-numbers').textContent();
    // The next request held: meanwhile the previous file's "ready" and Download are gone.
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    await page.route(/\/v1\/exports$/, async (route) => {
      await held;
      await route.fallback();
    });
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    await expect.poll(() => page.locator('#export-button').getAttribute('aria-busy')).toBe('true');
    expect(await page.locator('#job').isHidden()).toBe(true);
    expect(await page.locator('#job-download').isVisible()).toBe(false);
    release();
    await ready(page);
    expect(said).toMatch(/ · 1 row · /);
    expect(errors).toEqual([]);
    await close();
  });

  it('leaves the focus where someone types when an export finishes, and says so', async () => {
    const { page, errors, close } = await open();
    await exportBig(page, 4000);
    const field = page.getByLabel('File name');
    await field.focus();
    await field.pressSequentially('next-file', { delay: 20 });
    await ready(page);
    expect(await activeId(page)).toBe('filename');
    await field.pressSequentially('-2');
    expect(await field.inputValue()).toBe('next-file-2');
    expect(await page.locator('#job-announce').textContent()).toMatch(/ready/);
    // Pressed Export and waited: Download takes the focus, as it follows from there.
    await page.getByRole('button', { name: 'Export', exact: true }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => activeId(page), { timeout: 20_000 }).toBe('job-download');
    expect(errors).toEqual([]);
    await close();
  });

  it('shows a file as expired once its expires_at passes, in the panel and the list', async () => {
    const context = await browser.newContext({ timezoneId: 'Europe/Berlin', locale: 'en-US' });
    const page = await context.newPage();
    const errors = consoleErrors(page);
    await page.clock.install();
    await page.goto(`${server.base}/`);
    await page.locator('#export').waitFor({ state: 'visible' });
    const id = await exportBig(page, 5);
    await ready(page);
    const row = page.locator(`#history-rows tr[data-id="${id}"]`);
    await expect.poll(() => row.textContent()).toMatch(/Ready/);
    const job = (await (await fetch(`${server.base}/v1/exports/${id}`)).json()) as { expires_at: string };
    await page.locator('#job-download').focus();
    // The lid closed until a minute past the file's retention.
    await page.clock.fastForward(Date.parse(job.expires_at) - Date.now() + 60_000);
    await expect.poll(() => page.locator('#job-title').textContent()).toBe('The file has expired');
    expect(await page.locator('#job-download').isHidden()).toBe(true);
    // Download went with the focus on it: the panel's title has it now.
    expect(await activeId(page)).toBe('job-title');
    await expect.poll(() => row.locator('td[data-label="Status"]').textContent()).toBe('Expired');
    expect(await row.locator('td[data-label="Size"]').textContent()).toBe('—');
    expect(await row.getByRole('button').count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  });
});

/** An export the page follows that is the route fixture's, not the server's: `status` and `error` as given. */
function fakeJob(status: string, error?: { code: string; message: string }) {
  return {
    id: 'exp_fakeCCCCCCCCCCCCCCCCC',
    status,
    dataset: 'orders',
    format: 'csv',
    created_at: new Date().toISOString(),
    progress: { rows_written: 0, bytes_written: 0 },
    ...(error ? { error } : {}),
    links: exportLinks('exp_fakeCCCCCCCCCCCCCCCCC'),
  };
}

/** Export answers with a job in `first` state; looking at it (the stream is unavailable) shows `then`. */
async function fakeExport(page: Page, first: object, then: object): Promise<void> {
  await page.route(/\/v1\/exports$/, (route) => route.fulfill({ status: 202, json: first }));
  await page.route('**/events', (route) => route.fulfill({ status: 502, body: 'bad gateway' }));
  await page.route(/\/v1\/exports\/exp_fakeC+$/, (route) =>
    route.fulfill({ json: then, headers: { etag: '"fake"', 'retry-after': '5' } }),
  );
  await page.getByRole('button', { name: 'Export', exact: true }).click();
  await page.locator('#job').waitFor({ state: 'visible' });
}

/** Whether the progress bar looks the same in each of a few screenshots over a second. */
async function barIsStill(page: Page): Promise<boolean> {
  const shots: Buffer[] = [];
  for (let i = 0; i < 4; i++) {
    if (i > 0) await page.waitForTimeout(250);
    shots.push(await page.locator('#job-progress').screenshot({ animations: 'allow' }));
  }
  return shots.every((shot) => shot.equals(shots[0]!));
}

/**
 * The progress bar as Chromium's accessibility tree has it: its value (aria-valuenow; none
 * while it is indeterminate) and its aria-valuetext.
 */
async function barForScreenReaders(page: Page): Promise<{ valuenow: unknown; valuetext: string | null }> {
  const cdp = await page.context().newCDPSession(page);
  const { root } = await cdp.send('DOM.getDocument');
  const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector: '#job-progress' });
  const { nodes } = await cdp.send('Accessibility.getPartialAXTree', { nodeId, fetchRelatives: false });
  await cdp.detach();
  const bar = nodes.find((node) => node.role?.value === 'progressbar');
  return {
    valuenow: bar?.value?.value,
    valuetext: await page.locator('#job-progress').getAttribute('aria-valuetext'),
  };
}

describe('the export panel for everyone', () => {
  it('keeps the bar of a queued export still when the user asks for reduced motion', async () => {
    const indeterminate = (page: Page) =>
      page.evaluate(`document.getElementById('job-progress').matches(':indeterminate')`);
    const still = await openExportPage(browser, server.base, { reducedMotion: 'reduce' });
    await fakeExport(still.page, fakeJob('queued'), fakeJob('queued'));
    expect(await still.page.locator('#job-numbers').textContent()).toMatch(/queued/);
    expect(await barIsStill(still.page)).toBe(true);
    // Still, yet "how long unknown" (no value), not "0 %".
    expect(await indeterminate(still.page)).toBe(true);
    expect(await barForScreenReaders(still.page)).toEqual({ valuenow: undefined, valuetext: 'Queued' });
    await still.close();
    // Without the wish, the bar says "busy, how long unknown" by moving.
    const moving = await open();
    await fakeExport(moving.page, fakeJob('queued'), fakeJob('queued'));
    expect(await indeterminate(moving.page)).toBe(true);
    expect(await barIsStill(moving.page)).toBe(false);
    await moving.close();
  });

  it('tells screen readers the rows written, not 0 %, while the total is unknown and motion is reduced', async () => {
    const { page, errors, close } = await open();
    await page.emulateMedia({ reducedMotion: 'reduce' });
    const running = { ...fakeJob('running'), progress: { rows_written: 12_345, bytes_written: 99_000 } };
    await fakeExport(page, running, running);
    await expect.poll(() => page.locator('#job-numbers').textContent()).toMatch(/^12,345 rows written/);
    expect(await barForScreenReaders(page)).toEqual({
      valuenow: undefined,
      valuetext: '12,345 rows written',
    });
    expect(await barIsStill(page)).toBe(true);
    // Once the total is known the bar says how far it is, as a percentage.
    await page.unroute(/\/v1\/exports\/exp_fakeC+$/);
    const known = { ...running, progress: { ...running.progress, rows_estimated: 49_380 } };
    await page.route(/\/v1\/exports\/exp_fakeC+$/, (route) =>
      route.fulfill({ json: known, headers: { etag: '"known"', 'retry-after': '1' } }),
    );
    await expect
      .poll(() => barForScreenReaders(page), { timeout: 10_000 })
      .toEqual({
        valuenow: 0.25,
        valuetext: null,
      });
    expect(errors.filter((e) => !/status of 502/.test(e))).toEqual([]);
    await close();
  });

  it('announces why an export failed, not only that it did', async () => {
    const { page, close } = await open();
    const error = { code: 'source_query_error', message: 'column "amount" does not exist' };
    await fakeExport(page, fakeJob('running'), fakeJob('failed', error));
    await expect.poll(() => page.locator('#job-title').textContent()).toBe('The export failed');
    expect(await page.locator('#job-announce').textContent()).toBe(
      'The export failed. The data source could not produce this export. column "amount" does not exist (code source_query_error)',
    );
    await close();
  });
});
