/**
 * The export page against a server that wants bearer tokens: the page asks for one, keeps it
 * in session storage only, sends it with every call (the events stream and downloads too), and
 * also takes a token from the URL fragment or from the app that embeds it (postMessage).
 */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerTokens } from '../../src/auth.js';
import { buildPage, consoleErrors, launchChromium } from '../support/browser.js';
import { orders, type PageServer, startPageServer } from '../support/page-server.js';
import { s3rverStorage, startS3rver } from '../support/s3rver.js';

const TOKEN = 'page-token-alice-0123456789';

let browser: Browser;
let server: PageServer;

beforeAll(async () => {
  const root = buildPage();
  [browser, server] = await Promise.all([
    launchChromium(),
    startPageServer(root, bearerTokens(new Map([[TOKEN, { id: 'alice' }]]))),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function newPage(): Promise<{ page: Page; errors: string[]; close(): Promise<void> }> {
  const context = await browser.newContext({ timezoneId: 'UTC' });
  const page = await context.newPage();
  return { page, errors: consoleErrors(page), close: () => context.close() };
}

/** What the page keeps in the browser: the token in session storage, nothing elsewhere. */
const STORAGE = `({ session: sessionStorage.getItem('takeout.token'), local: localStorage.length, cookie: document.cookie })`;

describe('the export page with token authentication', () => {
  it('asks for a token, refuses a wrong one, exports with the right one and signs out', async () => {
    const { page, errors, close } = await newPage();
    await page.goto(`${server.base}/`);
    await page.locator('#sign-in').waitFor({ state: 'visible' });
    expect(await page.locator('#export').isHidden()).toBe(true);

    await page.getByLabel('API token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/not accepted.*unauthorized/);
    // The person at the page is told what to do, not how to send an HTTP header.
    expect(await page.getByRole('alert').textContent()).not.toMatch(/Bearer|Authorization/);
    expect(await page.locator('#sign-in').isVisible()).toBe(true);

    await page.getByLabel('API token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#export').waitFor({ state: 'visible' });
    expect(await page.getByRole('alert').isHidden()).toBe(true);
    expect(await page.evaluate(STORAGE)).toEqual({ session: TOKEN, local: 0, cookie: '' });
    // The sign-in form went with the focus: the keyboard goes on at the export form.
    await expect.poll(() => page.evaluate('document.activeElement?.id')).toBe('dataset');

    await page.getByLabel('Country', { exact: true }).selectOption('FR');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export', exact: true }).click(),
    ]);
    const rows = parse(readFileSync(await download.path()), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => Number(r.ID))).toEqual(
      orders()
        .filter((o) => o.country === 'FR')
        .map((o) => o.id),
    );

    // A background export: its events and its file are fetched with the token too.
    await page.getByLabel('Dataset').selectOption('big');
    await page.getByLabel('N', { exact: true }).fill('3000');
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    const button = page.getByRole('button', { name: 'Download', exact: true });
    await button.waitFor({ state: 'visible', timeout: 20_000 });
    const [file] = await Promise.all([page.waitForEvent('download'), button.click()]);
    const big = parse(readFileSync(await file.path()), { columns: true }) as Record<string, string>[];
    expect(big.length).toBe(3000);
    expect(big[2999]).toEqual({ id: '2999', label: 'row 2999' });

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#sign-in').waitFor({ state: 'visible' });
    expect(await page.evaluate(STORAGE)).toEqual({ session: null, local: 0, cookie: '' });
    // The 401s of the refused token and of the first look are the browser's own log lines.
    expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    await close();
  });

  it('takes a token from the URL fragment and takes it out of the address', async () => {
    const { page, errors, close } = await newPage();
    await page.goto(`${server.base}/#token=${TOKEN}`);
    await page.locator('#export').waitFor({ state: 'visible' });
    expect(page.url()).toBe(`${server.base}/`);
    expect(await page.evaluate(STORAGE)).toEqual({ session: TOKEN, local: 0, cookie: '' });
    expect(errors).toEqual([]);
    await close();
  });

  it('takes a token from a fragment changed on the open page, and takes it out of the address', async () => {
    const { page, errors, close } = await newPage();
    await page.goto(`${server.base}/`);
    await page.locator('#sign-in').waitFor({ state: 'visible' });
    await page.evaluate(`location.hash = ${JSON.stringify(`token=${TOKEN}`)}`);
    await page.locator('#export').waitFor({ state: 'visible' });
    expect(page.url()).toBe(`${server.base}/`);
    expect(await page.evaluate(STORAGE)).toEqual({ session: TOKEN, local: 0, cookie: '' });
    // The first look, before the token came, was the browser's logged 401.
    expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    await close();
  });

  it('takes a JWT or token from the app that embeds it, by postMessage', async () => {
    const { page, errors, close } = await newPage();
    // The embedding app, on the same origin (CSP frame-ancestors allows 'self' by default).
    await page.route(`${server.base}/embedding-app`, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<!doctype html><title>App</title><iframe title="Export" src="/"></iframe>
<script>
  addEventListener('message', (event) => {
    if (event.data && event.data.type === 'takeout:ready')
      event.source.postMessage({ type: 'takeout:token', token: ${JSON.stringify(TOKEN)} }, location.origin);
  });
</script>`,
      }),
    );
    await page.goto(`${server.base}/embedding-app`);
    const frame = page.frameLocator('iframe');
    await frame.locator('#export').waitFor({ state: 'visible' });
    expect(await frame.locator('#session-note').textContent()).toMatch(/Signed in/);
    expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    await close();
  });

  it('downloads a background export kept in S3, on another origin, with a token', async () => {
    const s3 = await startS3rver();
    const bucket = `takeout-page-${process.pid}`;
    const storage = await s3rverStorage(s3, bucket);
    const s3Server = await startPageServer(
      buildPage(),
      bearerTokens(new Map([[TOKEN, { id: 'alice' }]])),
      storage,
    );
    const { page, errors, close } = await newPage();
    try {
      await page.goto(`${s3Server.base}/#token=${TOKEN}`);
      await page.getByLabel('Dataset').selectOption('big');
      await page.getByLabel('N', { exact: true }).fill('2500');
      await page.getByRole('button', { name: 'Export', exact: true }).click();
      const button = page.getByRole('button', { name: 'Download', exact: true });
      await button.waitFor({ state: 'visible', timeout: 20_000 });
      const [file] = await Promise.all([page.waitForEvent('download'), button.click()]);
      // The file came from the S3 server itself, not through the page (whose CSP allows only its own origin).
      expect(new URL(file.url()).origin).toBe(new URL(s3.endpoint).origin);
      const rows = parse(readFileSync(await file.path()), { columns: true }) as Record<string, string>[];
      expect(rows.length).toBe(2500);
      expect(rows[2499]).toEqual({ id: '2499', label: 'row 2499' });
      expect(errors).toEqual([]);
    } finally {
      await close();
      await s3Server.close();
      await s3.stop();
    }
  });
});
