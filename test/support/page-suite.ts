/** Chromium and the built page behind a page server: what each export page test file starts. */
import type { Browser } from 'playwright-core';
import { buildPage, launchChromium } from './browser.js';
import { type PageServer, startPageServer } from './page-server.js';

export interface PageSuite {
  browser: Browser;
  server: PageServer;
}

export async function startPageSuite(): Promise<PageSuite> {
  const root = buildPage();
  const [browser, server] = await Promise.all([launchChromium(), startPageServer(root)]);
  return { browser, server };
}

/** Closes what started; either may be missing when the start failed. */
export async function stopPageSuite(
  browser: Browser | undefined,
  server: PageServer | undefined,
): Promise<void> {
  await browser?.close();
  await server?.close();
}
