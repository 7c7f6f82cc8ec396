/**
 * The export page when its user changes, against a server with bearer tokens for two people:
 * after Sign out (or a token of someone else handed over), nothing of the previous user's is
 * shown or kept, not even until the next user's list arrives.
 */
import type { Browser, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerTokens } from '../../src/auth.js';
import { buildPage, consoleErrors, launchChromium } from '../support/browser.js';
import { type PageServer, startPageServer } from '../support/page-server.js';

const ALICE = 'page-token-alice-0123456789';
const BOB = 'page-token-bob-9876543210';

let browser: Browser;
let server: PageServer;

beforeAll(async () => {
  const root = buildPage();
  [browser, server] = await Promise.all([
    launchChromium(),
    startPageServer(
      root,
      bearerTokens(
        new Map([
          [ALICE, { id: 'alice' }],
          [BOB, { id: 'bob' }],
        ]),
      ),
    ),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** What of a user the page holds: rows of the list, the panel, the address of their export, typed text. */
const LEFT_OVER = `({
  rows: document.querySelectorAll('#history-rows tr').length,
  panel: !document.getElementById('job').hidden,
  address: location.hash,
  filename: document.getElementById('filename').value,
})`;

/** Alice signed in by the fragment, with a finished background export listed; its id. */
async function aliceWithAnExport(page: Page): Promise<string> {
  await page.goto(`${server.base}/#token=${ALICE}`);
  await page.locator('#export').waitFor({ state: 'visible' });
  await page.getByLabel('Prepare in the background').check();
  await page.getByLabel('File name').fill('alice-orders');
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/v1/exports') && r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Export', exact: true }).click(),
  ]);
  const { id } = (await answer.json()) as { id: string };
  await page.locator('#job-download').waitFor({ state: 'visible', timeout: 20_000 });
  await page.locator(`#history-rows tr[data-id="${id}"]`).waitFor();
  return id;
}

/** Holds every list request until the returned function is called. */
async function holdLists(page: Page): Promise<() => void> {
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  await page.route(/\/v1\/exports\?/, async (route) => {
    await held;
    await route.fallback();
  });
  return release;
}

describe('the export page when its user changes', () => {
  it('forgets everything of the user who signed out', async () => {
    const context = await browser.newContext({ timezoneId: 'UTC' });
    const page = await context.newPage();
    const errors = consoleErrors(page);
    const id = await aliceWithAnExport(page);
    expect(await page.evaluate(LEFT_OVER)).toEqual({
      rows: 1,
      panel: true,
      address: `#/exports/${id}`,
      filename: 'alice-orders',
    });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#sign-in').waitFor({ state: 'visible' });
    expect(await page.evaluate(LEFT_OVER)).toEqual({ rows: 0, panel: false, address: '', filename: '' });
    // Bob signs in; his list is slow to come: meanwhile no row of Alice's shows.
    const release = await holdLists(page);
    await page.getByLabel('API token').fill(BOB);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#export').waitFor({ state: 'visible' });
    await page.waitForTimeout(300);
    expect(await page.evaluate(LEFT_OVER)).toMatchObject({ rows: 0, panel: false });
    expect(await page.locator('body').textContent()).not.toMatch(/alice/i);
    release();
    await page.locator('#history-empty').waitFor({ state: 'visible' });
    expect(await page.locator('#history-rows tr').count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("forgets the previous user's exports when another user's token is handed over", async () => {
    const context = await browser.newContext({ timezoneId: 'UTC' });
    const page = await context.newPage();
    const errors = consoleErrors(page);
    await aliceWithAnExport(page);
    const release = await holdLists(page);
    // The embedding app points the frame at another user's token.
    await page.evaluate(`location.hash = ${JSON.stringify(`token=${BOB}`)}`);
    await expect.poll(() => page.evaluate(`sessionStorage.getItem('takeout.token')`)).toBe(BOB);
    await page.waitForTimeout(300);
    expect(await page.evaluate(LEFT_OVER)).toEqual({ rows: 0, panel: false, address: '', filename: '' });
    release();
    await page.locator('#history-empty').waitFor({ state: 'visible' });
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe('what is still on its way when the user signs out', () => {
  it('saves no file of a small export, or of a Download, answered after Sign out', async () => {
    const context = await browser.newContext({ timezoneId: 'UTC', acceptDownloads: true });
    const page = await context.newPage();
    const errors = consoleErrors(page);
    const saved: string[] = [];
    page.on('download', (download) => saved.push(download.suggestedFilename()));
    await aliceWithAnExport(page);
    // A slow network: each answer comes a second and a half after it was asked for.
    const slow = async (route: Route) => {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await route.fallback().catch(() => {}); // the page gave up on it (signed out)
    };
    await page.route(/\/v1\/exports$/, slow);
    await page.route(/\/link$/, slow);
    await page.getByLabel('Prepare in the background').uncheck();
    await page.getByLabel('File name').fill('alice-private');
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    await page.locator('#history-rows button[data-action="download"]').first().click();
    await page.waitForTimeout(200);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#sign-in').waitFor({ state: 'visible' });
    await page.waitForTimeout(2500);
    expect(saved).toEqual([]);
    expect(await page.locator('#export-state').textContent()).toBe('');
    expect(errors).toEqual([]);
    await context.close();
  });

  it("leaves no format or time zone of the previous user's behind", async () => {
    const context = await browser.newContext({ timezoneId: 'America/New_York' });
    const page = await context.newPage();
    const errors = consoleErrors(page);
    await page.goto(`${server.base}/#token=${ALICE}`);
    await page.locator('#export').waitFor({ state: 'visible' });
    await page.getByLabel('Format').selectOption('xlsx');
    await page.getByLabel('Time zone').selectOption('Asia/Tokyo');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#sign-in').waitFor({ state: 'visible' });
    await page.getByLabel('API token').fill(BOB);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#export').waitFor({ state: 'visible' });
    expect(await page.getByLabel('Format').inputValue()).toBe('csv');
    expect(await page.getByLabel('Time zone').inputValue()).toBe('America/New_York');
    expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    await context.close();
  });
});
