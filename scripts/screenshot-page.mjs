// Takes docs/export-page.png: the export page after a background export of the demo dataset
// finished, in headless Chromium. Run `npm run build` first, then
// `node scripts/screenshot-page.mjs [out.png]`. Not a test: the browser tests check the page.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startService } from '../dist/cli/serve.js';
import { loadConfig } from '../dist/config.js';

const project = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(process.argv[2] ?? join(project, 'docs', 'export-page.png'));
const dataDir = mkdtempSync(join(tmpdir(), 'takeout-screenshot-'));
const env = {
  TAKEOUT_DATA_DIR: dataDir,
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'warn',
  // Small enough that the demo export below runs in the background, with its progress bar.
  TAKEOUT_SYNC_MAX_ROWS: '1000',
};
const app = await startService(loadConfig(env), env);
const { port } = app.server.address();
const browser = await chromium.launch({
  executablePath: process.env.TAKEOUT_CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
try {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    locale: 'en-US',
    timezoneId: 'Europe/Berlin',
    colorScheme: 'light',
  });
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.locator('#export').waitFor({ state: 'visible' });
  await page.getByLabel('Country', { exact: true }).selectOption('DE');
  await page.getByLabel('From', { exact: true }).fill('2024-01-01');
  await page.getByLabel('Format').selectOption('xlsx');
  await page.getByRole('checkbox', { name: /^Details/ }).uncheck();
  await page.getByLabel('File name').fill('orders-germany-2024');
  await page.getByRole('button', { name: 'Export', exact: true }).click();
  await page.getByRole('button', { name: 'Download', exact: true }).waitFor({ timeout: 60_000 });
  await page.locator('#history-rows tr').first().waitFor();
  await page.evaluate(() => document.activeElement?.blur());
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
}
