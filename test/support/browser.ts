/**
 * Headless Chromium (Debian's `chromium`, driven by playwright-core) and the export page built
 * into a temporary directory by the same script as `npm run build`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContextOptions, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.TAKEOUT_CHROMIUM ?? '/usr/bin/chromium';

/** Flags that keep Chromium from reaching out (the network is closed) or stalling on a server. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
}

/** Builds web/ with scripts/build-web.mjs into a fresh directory; returns it. */
export function buildPage(): string {
  const out = mkdtempSync(join(tmpdir(), 'takeout-web-'));
  const script = fileURLToPath(new URL('../../scripts/build-web.mjs', import.meta.url));
  execFileSync(process.execPath, [script, out], { stdio: 'pipe' });
  return out;
}

/** Console errors and uncaught exceptions of a page, as text. */
export function consoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  return errors;
}

/** Presses Tab until `selector` has the focus (keyboard only); fails after `max` presses. */
export async function tabTo(page: Page, selector: string, max = 80): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(`document.activeElement?.matches(${JSON.stringify(selector)}) ?? false`)) return;
  }
  throw new Error(`Tab never reached ${selector}`);
}

export interface OpenedPage {
  page: Page;
  /** Console errors and uncaught exceptions (consoleErrors). */
  errors: string[];
  close(): Promise<void>;
}

/** The export page at `base` in a fresh context (Berlin, en-US unless told), once its form shows. */
export async function openExportPage(
  browser: Browser,
  base: string,
  options: BrowserContextOptions = {},
): Promise<OpenedPage> {
  const context = await browser.newContext({ timezoneId: 'Europe/Berlin', locale: 'en-US', ...options });
  const page = await context.newPage();
  const errors = consoleErrors(page);
  await page.goto(`${base}/`);
  await page.locator('#export').waitFor({ state: 'visible' });
  return { page, errors, close: () => context.close() };
}
